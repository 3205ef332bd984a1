"""Loading the planner's input from the database, and storing plans.

``load_placement`` reads the playlists and what the product placed for them
(the scan and the tracks come from their own stores); ``save_plan`` stores a
plan and its actions in bulk, superseding older ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select, update

from tidal_sync_assets.database.bulk import STREAMED_ROWS, insert_many
from tidal_sync_assets.database.models import (
    ActionStatus,
    Plan,
    PlanAction,
    PlanStatus,
    Playlist,
    PlaylistTrack,
    Track,
)
from tidal_sync_assets.database.plan_inputs import PlanInputs
from tidal_sync_assets.dj.tags import DjValues
from tidal_sync_assets.planning.actions import Action, ActionKind
from tidal_sync_assets.planning.plan import Plan as PlanObject
from tidal_sync_assets.planning.state import PLAYLISTS_DIR, PlaylistState

_FOLDER_PREFIX = PLAYLISTS_DIR + "/"


@dataclass(frozen=True, slots=True)
class Placement:
    """The playlists as TIDAL lists them and what the product placed for them."""

    playlists: tuple[PlaylistState, ...]
    primaries: dict[int, str]  # track -> primary path
    links: dict[tuple[str, int], str]  # (playlist, track) -> link path
    # track -> the values its primary's DJ tags were written from, and their notation
    tagged: dict[int, tuple[DjValues, str | None]]

    def wanted_tracks(self) -> set[int]:
        """The tracks the library serves: listed in a playlist, or holding a primary."""
        return {t for p in self.playlists for t in p.track_ids} | set(self.primaries)


def load_placement(engine: Engine) -> Placement:
    with engine.connect() as connection:
        playlists = connection.execute(
            select(
                Playlist.id,
                Playlist.tidal_id,
                Playlist.name,
                Playlist.local_folder_path,
                Playlist.removed_from_tidal,
                Playlist.last_updated_tidal,
                Playlist.synced_last_updated,
                Playlist.m3u8_paths,
            )
        ).all()
        uuid = {row.id: row.tidal_id for row in playlists}
        order: dict[int, list[int]] = defaultdict(list)
        links: dict[tuple[str, int], str] = {}
        # Streamed: every entry of the library, not held as rows while they are sorted in.
        for playlist_id, position, symlink_path, tidal_id in connection.execution_options(
            yield_per=STREAMED_ROWS
        ).execute(
            select(
                PlaylistTrack.playlist_id,
                PlaylistTrack.position,
                PlaylistTrack.symlink_path,
                Track.tidal_id,
            )
            .join(Track, Track.id == PlaylistTrack.track_id)
            .order_by(PlaylistTrack.playlist_id, PlaylistTrack.position)
        ):
            if position is not None:
                order[playlist_id].append(tidal_id)
            if symlink_path:
                links[(uuid[playlist_id], tidal_id)] = symlink_path
        placed = connection.execute(
            select(
                Track.tidal_id,
                Track.file_path,
                Track.tagged_bpm,
                Track.tagged_key,
                Track.tagged_release_date,
                Track.tagged_notation,
            ).where(Track.file_path.is_not(None), Track.file_path != "")
        ).all()
    return Placement(
        playlists=tuple(
            PlaylistState(
                tidal_id=row.tidal_id,
                name=row.name,
                track_ids=tuple(order[row.id]),
                folder=_folder_name(row.local_folder_path),
                removed=row.removed_from_tidal,
                changed=row.synced_last_updated is None
                or row.synced_last_updated != row.last_updated_tidal,
                m3u8_paths=row.m3u8_paths,
            )
            for row in sorted(playlists, key=lambda r: r.tidal_id)
        ),
        primaries={row.tidal_id: row.file_path for row in placed},
        links=links,
        tagged={
            row.tidal_id: (
                DjValues(row.tagged_bpm, row.tagged_key, row.tagged_release_date),
                row.tagged_notation,
            )
            for row in placed
        },
    )


def _folder_name(path: str | None) -> str | None:
    if not path or not path.startswith(_FOLDER_PREFIX):
        return None
    return path[len(_FOLDER_PREFIX) :]


def save_plan(
    engine: Engine,
    plan: PlanObject,
    *,
    held_reason: str | None,
    link_mode: str,
    managed: int,
    inputs: PlanInputs,
) -> int:
    """Store ``plan`` as the newest plan (older ones are superseded); returns its id."""
    with engine.begin() as connection:
        plan_id = _new_plan(
            connection,
            inputs,
            status=PlanStatus.HELD if held_reason else PlanStatus.READY,
            held_reason=held_reason,
            link_mode=link_mode,
            actions=len(plan.actions),
            removals=len(plan.removals),
            managed_files=managed,
        )
        insert_many(
            connection,
            PlanAction.__table__,  # type: ignore[arg-type]
            (
                {
                    "plan_id": plan_id,
                    "seq": a.seq,
                    "kind": a.kind.value,
                    "playlist_tidal_id": a.playlist_id,
                    "track_tidal_id": a.track_id,
                    "source_path": a.source,
                    "target_path": a.target,
                    "size": a.size,
                }
                for a in plan.actions
            ),
        )
    return plan_id


def save_unchanged_plan(engine: Engine, previous: int, inputs: PlanInputs) -> int:
    """Record that the empty plan ``previous`` still holds for ``inputs``; returns the
    new plan's id (so the latest plan always names the latest snapshot and scan)."""
    with engine.begin() as connection:
        row = connection.execute(
            select(Plan.link_mode, Plan.managed_files).where(Plan.id == previous)
        ).one()
        return _new_plan(
            connection,
            inputs,
            status=PlanStatus.READY,
            held_reason=None,
            link_mode=row.link_mode,
            actions=0,
            removals=0,
            managed_files=row.managed_files,
        )


def _new_plan(connection: Connection, inputs: PlanInputs, **values: object) -> int:
    connection.execute(
        update(Plan)
        .where(Plan.status != PlanStatus.SUPERSEDED)
        .values(status=PlanStatus.SUPERSEDED)
    )
    inserted = connection.execute(
        Plan.__table__.insert().values(  # type: ignore[attr-defined]
            created_at=datetime.now(UTC),
            snapshot_id=inputs.snapshot_id,
            scan_id=inputs.scan_id,
            inputs=inputs.settings,
            **values,
        )
    ).inserted_primary_key
    return int(inserted[0]) if inserted else 0


def mark_in_sync(engine: Engine, plan_id: int, fingerprint: str) -> None:
    """Record that a sync under the settings of ``fingerprint`` ended with plan
    ``plan_id`` and the library in sync (``plan_inputs.in_sync_plan`` reads it)."""
    with engine.begin() as connection:
        connection.execute(
            update(Plan).where(Plan.id == plan_id).values(in_sync_settings=fingerprint)
        )


def latest_plan(engine: Engine) -> tuple[int, PlanStatus, str | None] | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(Plan.id, Plan.status, Plan.held_reason)
            .where(Plan.status != PlanStatus.SUPERSEDED)
            .order_by(Plan.id.desc())
            .limit(1)
        ).first()
    return (row.id, row.status, row.held_reason) if row else None


def load_actions(engine: Engine, plan_id: int, *, pending_only: bool = False) -> list[Action]:
    """A plan's actions, in order (with ``pending_only``, those not carried out yet)."""
    table = PlanAction.__table__
    query = (
        select(
            table.c.seq,
            table.c.kind,
            table.c.playlist_tidal_id,
            table.c.track_tidal_id,
            table.c.source_path,
            table.c.target_path,
            table.c.size,
        )
        .where(table.c.plan_id == plan_id)
        .order_by(table.c.seq)
    )
    if pending_only:
        query = query.where(table.c.status == ActionStatus.PENDING)
    with engine.connect() as connection:
        # Row by row, not ``.all()``: a first sync's plan is 150,000 actions at 50,000
        # tracks, and its rows need not be held beside the actions made of them.
        return [
            Action(seq, ActionKind(kind), playlist, track, source, target, size)
            for seq, kind, playlist, track, source, target, size in connection.execute(query)
        ]


def action_playlists(engine: Engine, plan_id: int) -> set[str | None]:
    """The playlists a plan has actions for (None: actions of no playlist)."""
    table = PlanAction.__table__
    query = select(table.c.playlist_tidal_id).where(table.c.plan_id == plan_id).distinct()
    with engine.connect() as connection:
        return set(connection.execute(query).scalars())


def plan_started(engine: Engine, plan_id: int) -> tuple[datetime | None, str]:
    """When a library run first began on the plan (None: none did), and the link mode
    it was made for."""
    with engine.connect() as connection:
        row = connection.execute(
            select(Plan.started_at, Plan.link_mode).where(Plan.id == plan_id)
        ).one()
    started = row.started_at
    if started is not None and started.tzinfo is None:  # SQLite keeps no zone: it was UTC
        started = started.replace(tzinfo=UTC)
    return started, row.link_mode


def mark_started(engine: Engine, plan_id: int) -> None:
    """A library run begins on the plan (the first one's time is kept)."""
    with engine.begin() as connection:
        connection.execute(
            update(Plan)
            .where(Plan.id == plan_id, Plan.started_at.is_(None))
            .values(started_at=datetime.now(UTC))
        )
