"""Loading the planner's input from the database, and storing diffs and plans.

``load_library_state`` gathers both snapshots and the previous placement
into one ``LibraryState``; ``save_diff`` writes the seed's status fields;
``save_plan`` stores a plan and its actions in bulk, superseding older ones.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, select, update

from tidal_sync_assets.database.bulk import ROWS_PER_EXECUTE, chunks, insert_many
from tidal_sync_assets.database.models import (
    DownloadStatus,
    Plan,
    PlanAction,
    PlanStatus,
    Playlist,
    PlaylistSyncStatus,
    PlaylistTrack,
    Track,
    TrackSyncStatus,
)
from tidal_sync_assets.database.plan_inputs import PlanInputs
from tidal_sync_assets.database.scan_store import load_entries, load_tracks
from tidal_sync_assets.disk.entry import EntryKind
from tidal_sync_assets.disk.match import match_entries
from tidal_sync_assets.planning.actions import Action, ActionKind
from tidal_sync_assets.planning.diff import Diff, EntryState, PrimarySource
from tidal_sync_assets.planning.plan import Plan as PlanObject
from tidal_sync_assets.planning.state import PLAYLISTS_DIR, LibraryState, PlaylistState
from tidal_sync_assets.settings import LinkMode

_FOLDER_PREFIX = PLAYLISTS_DIR + "/"
_ENTRY_STATUS = {
    EntryState.PRIMARY: TrackSyncStatus.SYNCED,
    EntryState.LINK: TrackSyncStatus.SYNCED,
    EntryState.WRONG_LINK: TrackSyncStatus.NEEDS_SYMLINK,
    EntryState.MISSING: TrackSyncStatus.NEEDS_SYMLINK,
    EntryState.OUTDATED: TrackSyncStatus.NEEDS_MOVE,
    EntryState.UNAVAILABLE: TrackSyncStatus.UNKNOWN,
}
UNAVAILABLE_REASON = "unavailable on TIDAL (streaming not allowed) and no local copy"


def load_library_state(engine: Engine, link_mode: LinkMode, default_extension: str) -> LibraryState:
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
            )
        ).all()
        entries = connection.execute(
            select(
                PlaylistTrack.playlist_id,
                PlaylistTrack.position,
                PlaylistTrack.symlink_path,
                Track.tidal_id,
            )
            .join(Track, Track.id == PlaylistTrack.track_id)
            .order_by(PlaylistTrack.playlist_id, PlaylistTrack.position)
        ).all()
        primaries: dict[int, str] = {
            tidal_id: path
            for tidal_id, path in connection.execute(
                select(Track.tidal_id, Track.file_path).where(Track.file_path.is_not(None))
            ).tuples()
            if path
        }
    uuid = {row.id: row.tidal_id for row in playlists}
    order: dict[int, list[int]] = defaultdict(list)
    links: dict[tuple[str, int], str] = {}
    for entry in entries:
        if entry.position is not None:
            order[entry.playlist_id].append(entry.tidal_id)
        if entry.symlink_path:
            links[(uuid[entry.playlist_id], entry.tidal_id)] = entry.symlink_path
    wanted = {t for tracks in order.values() for t in tracks} | set(primaries)
    tracks = load_tracks(engine, wanted)
    disk = load_entries(engine)
    managed = set(primaries.values()) | set(links.values())
    # Only files the scan decoded may be adopted (a damaged one is matched so that the
    # layout can give its name to the download; see ``planning.layout``).
    unmanaged_audio = [
        e
        for e in disk.values()
        if e.kind is EntryKind.FILE and e.audio_checked and e.path not in managed
    ]
    matches = {path: m.track_id for path, m in match_entries(unmanaged_audio, tracks).items()}
    return LibraryState(
        playlists=tuple(
            PlaylistState(
                tidal_id=row.tidal_id,
                name=row.name,
                track_ids=tuple(order[row.id]),
                folder=_folder_name(row.local_folder_path),
                removed=row.removed_from_tidal,
                changed=row.synced_last_updated is None
                or row.synced_last_updated != row.last_updated_tidal,
            )
            for row in sorted(playlists, key=lambda r: r.tidal_id)
        ),
        tracks=tracks,
        primaries=primaries,
        links=links,
        disk=disk,
        matches=matches,
        link_mode=link_mode,
        default_extension=default_extension,
    )


def _folder_name(path: str | None) -> str | None:
    if not path or not path.startswith(_FOLDER_PREFIX):
        return None
    return path[len(_FOLDER_PREFIX) :]


def save_diff(engine: Engine, diff: Diff) -> None:
    """Write the seed's status fields from the diff."""
    layout = diff.layout
    by_playlist: dict[str, set[EntryState]] = defaultdict(set)
    for (playlist, _), state in diff.entries.items():
        by_playlist[playlist].add(state)
    with engine.begin() as connection:
        playlists = {
            row.id: row
            for row in connection.execute(
                select(Playlist.id, Playlist.tidal_id, Playlist.sync_status)
            )
        }
        tracks = dict(connection.execute(select(Track.id, Track.tidal_id)).tuples().all())
        current = connection.execute(
            select(
                PlaylistTrack.id,
                PlaylistTrack.playlist_id,
                PlaylistTrack.track_id,
                PlaylistTrack.sync_status,
                PlaylistTrack.symlink_valid,
            ).where(PlaylistTrack.position.is_not(None))
        ).all()
        # Only what changed is written: a library in step writes (almost) nothing.
        changed = []
        for row in current:
            key = (playlists[row.playlist_id].tidal_id, tracks[row.track_id])
            entry = diff.entries.get(key)
            if entry is None:
                continue
            status = _ENTRY_STATUS[entry]
            valid = entry is EntryState.LINK if layout.is_link(*key) else None
            if (row.sync_status, row.symlink_valid) != (status, valid):
                changed.append({"row": row.id, "status": status, "valid": valid})
        statement = (
            update(PlaylistTrack)
            .where(PlaylistTrack.id == bindparam("row"))
            .values(sync_status=bindparam("status"), symlink_valid=bindparam("valid"))
            .execution_options(synchronize_session=False)
        )
        for batch in chunks(changed, ROWS_PER_EXECUTE):
            connection.execute(statement, batch)
        connection.execute(
            update(PlaylistTrack)
            .where(PlaylistTrack.position.is_(None))
            .values(sync_status=TrackSyncStatus.NEEDS_REMOVAL)
        )
        missing = [t for t, (how, _) in diff.sources.items() if how is PrimarySource.DOWNLOAD]
        for batch in chunks(({"t": t} for t in missing), ROWS_PER_EXECUTE):
            connection.execute(
                update(Track)
                .where(Track.tidal_id == bindparam("t"))
                .where(Track.download_status == DownloadStatus.DOWNLOADED)
                .values(download_status=DownloadStatus.NOT_DOWNLOADED)
                .execution_options(synchronize_session=False),
                batch,
            )
        # A track TIDAL will not stream and no local file stands in for gets no
        # action at all, so the diff is the one place that can record why it is absent.
        unavailable = [t for t, (how, _) in diff.sources.items() if how is PrimarySource.NONE]
        for batch in chunks(({"t": t} for t in unavailable), ROWS_PER_EXECUTE):
            connection.execute(
                update(Track)
                .where(Track.tidal_id == bindparam("t"))
                .values(download_status=DownloadStatus.ERROR, download_error=UNAVAILABLE_REASON)
                .execution_options(synchronize_session=False),
                batch,
            )
        was = {row.tidal_id: row.sync_status for row in playlists.values()}
        for playlist, states in by_playlist.items():
            wanted = _playlist_status(states)
            if was.get(playlist) != wanted:
                connection.execute(
                    update(Playlist)
                    .where(Playlist.tidal_id == playlist)
                    .where(Playlist.removed_from_tidal.is_(False))
                    .values(sync_status=wanted)
                )


def _playlist_status(states: set[EntryState]) -> PlaylistSyncStatus:
    if EntryState.MISSING in states:
        return PlaylistSyncStatus.NEEDS_DOWNLOAD
    if states & {EntryState.WRONG_LINK, EntryState.OUTDATED}:
        return PlaylistSyncStatus.NEEDS_UPDATE
    return PlaylistSyncStatus.IN_SYNC


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


def latest_plan(engine: Engine) -> tuple[int, PlanStatus, str | None] | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(Plan.id, Plan.status, Plan.held_reason)
            .where(Plan.status != PlanStatus.SUPERSEDED)
            .order_by(Plan.id.desc())
            .limit(1)
        ).first()
    return (row.id, row.status, row.held_reason) if row else None


def load_actions(engine: Engine, plan_id: int) -> list[Action]:
    """A plan's actions, in order."""
    table = PlanAction.__table__
    query = select(table).where(table.c.plan_id == plan_id).order_by(table.c.seq)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        Action(
            seq=row.seq,
            kind=ActionKind(row.kind),
            playlist_id=row.playlist_tidal_id,
            track_id=row.track_tidal_id,
            source=row.source_path,
            target=row.target_path,
            size=row.size,
        )
        for row in rows
    ]
