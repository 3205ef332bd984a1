"""Recording what the library executor did: action outcomes and the placement.

The placement columns (``tracks.file_path``, ``playlist_tracks.symlink_path``
and ``is_primary``, ``playlists.local_folder_path``) say what the product put
on disk; the planner treats exactly those paths as managed. Outcomes are
buffered and written in bulk; the next scan reconciles anything a killed
process did not record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from tidal_sync_assets.database import status_store
from tidal_sync_assets.database.models import (
    ActionStatus,
    DownloadStatus,
    PlanAction,
    Playlist,
    PlaylistTrack,
    Track,
)


def now() -> datetime:
    return datetime.now(UTC)


def action_statuses(engine: Engine, plan_id: int) -> dict[int, ActionStatus]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(PlanAction.seq, PlanAction.status).where(PlanAction.plan_id == plan_id)
        ).tuples()
        return dict(rows.all())


def record_outcomes(engine: Engine, plan_id: int, outcomes: list[dict[str, Any]]) -> None:
    """Store ``{"seq", "status", "error", "started_at"}`` per action, in one statement."""
    if not outcomes:
        return
    with engine.begin() as connection:
        connection.execute(
            update(PlanAction)
            .where(PlanAction.plan_id == plan_id)
            .where(PlanAction.seq == bindparam("b_seq"))
            .values(
                status=bindparam("b_status"),
                error=bindparam("b_error"),
                started_at=bindparam("b_started"),
                finished_at=bindparam("b_finished"),
                attempts=PlanAction.attempts + 1,
            )
            .execution_options(synchronize_session=False),
            [
                {
                    "b_seq": o["seq"],
                    "b_status": o["status"],
                    "b_error": o["error"],
                    "b_started": o["started_at"],
                    "b_finished": o["finished_at"],
                }
                for o in outcomes
            ],
        )


def _track_pk(connection: Connection, tidal_id: int) -> int | None:
    return connection.execute(select(Track.id).where(Track.tidal_id == tidal_id)).scalar()


def _playlist_pk(connection: Connection, tidal_id: str) -> int | None:
    return connection.execute(select(Playlist.id).where(Playlist.tidal_id == tidal_id)).scalar()


@dataclass(frozen=True, slots=True)
class Delivery:
    """What TIDAL delivered for a stored file."""

    audio_quality: str
    codec: str
    sample_rate: int | None
    bit_depth: int | None


def record_delivery(engine: Engine, track: int, delivery: Delivery) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Track)
            .where(Track.tidal_id == track)
            .values(
                audio_quality=delivery.audio_quality,
                codec=delivery.codec,
                sample_rate=delivery.sample_rate,
                bit_depth=delivery.bit_depth,
            )
        )


def set_primary(
    engine: Engine, track: int, playlist: str | None, path: str, size: int | None
) -> None:
    """``path`` is now ``track``'s primary, held by ``playlist``."""
    with engine.begin() as connection:
        connection.execute(
            update(Track)
            .where(Track.tidal_id == track)
            .values(
                file_path=path,
                file_size=size,
                download_status=DownloadStatus.DOWNLOADED,
                download_error=None,
                downloaded_at=now(),
                last_verified_at=now(),
            )
        )
        track_pk = _track_pk(connection, track)
        playlist_pk = _playlist_pk(connection, playlist) if playlist else None
        holder = PlaylistTrack.playlist_id == playlist_pk
        status_store.entry_placed(
            connection,
            PlaylistTrack.track_id == track_pk,
            holder,
            is_primary=True,
            symlink_path=None,
            symlink_valid=None,
        )
        connection.execute(
            update(PlaylistTrack)
            .where(PlaylistTrack.track_id == track_pk, ~holder)
            .values(is_primary=False)
        )
        if track_pk is not None:  # only this track's rows changed
            _drop_cleaned_rows(connection, track_pk)


def set_download_state(
    engine: Engine, track: int, status: DownloadStatus, error: str | None = None
) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Track)
            .where(Track.tidal_id == track)
            .values(download_status=status, download_error=error)
        )


def set_album_artist(engine: Engine, album: int, name: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Track)
            .where(Track.album_id == album, Track.album_artist.is_(None))
            .values(album_artist=name)
        )


def primary_path(engine: Engine, track: int) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(Track.file_path).where(Track.tidal_id == track)).scalar()


def link_paths(engine: Engine, track: int) -> list[str]:
    """Where ``track``'s links (its other occurrences) are."""
    query = (
        select(PlaylistTrack.symlink_path)
        .join(Track, Track.id == PlaylistTrack.track_id)
        .where(Track.tidal_id == track, PlaylistTrack.symlink_path.is_not(None))
    )
    with engine.connect() as connection:
        return [str(path) for path in connection.execute(query).scalars()]


def set_link(engine: Engine, playlist: str, track: int, path: str) -> None:
    with engine.begin() as connection:
        status_store.entry_placed(
            connection,
            PlaylistTrack.track_id == _track_pk(connection, track),
            PlaylistTrack.playlist_id == _playlist_pk(connection, playlist),
            symlink_path=path,
            symlink_valid=True,
            is_primary=False,
        )


def forget_path(engine: Engine, path: str) -> None:
    """Nothing the product placed is at ``path`` any more (unlinked or trashed)."""
    with engine.begin() as connection:
        holders = set(
            connection.execute(select(Track.id).where(Track.file_path == path)).scalars()
        ) | set(
            connection.execute(
                select(PlaylistTrack.track_id).where(PlaylistTrack.symlink_path == path)
            ).scalars()
        )
        connection.execute(
            update(Track)
            .where(Track.file_path == path)
            .values(file_path=None, download_status=DownloadStatus.NOT_DOWNLOADED)
        )
        connection.execute(
            update(PlaylistTrack)
            .where(PlaylistTrack.symlink_path == path)
            .values(symlink_path=None, symlink_valid=None)
        )
        for track_pk in holders:  # only their rows changed
            _drop_cleaned_rows(connection, track_pk)


def _drop_cleaned_rows(connection: Connection, track_pk: int) -> None:
    """Entries TIDAL dropped are kept only while something of theirs is on disk.

    One track's rows, by the indexed column: never a scan of every entry.
    """
    connection.execute(
        delete(PlaylistTrack).where(
            PlaylistTrack.track_id == track_pk,
            PlaylistTrack.position.is_(None),
            PlaylistTrack.symlink_path.is_(None),
            PlaylistTrack.is_primary.is_(False),
        )
    )


def rename_folder(engine: Engine, playlist: str, old: str, new: str) -> None:
    """The folder ``old`` is now ``new``: every stored path below it follows."""
    prefix = old + "/"
    cut = len(prefix) + 1  # SQL substr is 1-based
    with engine.begin() as connection:
        connection.execute(
            update(Track)
            .where(Track.file_path.startswith(prefix, autoescape=True))
            .values(file_path=new + "/" + func.substr(Track.file_path, cut))
        )
        connection.execute(
            update(PlaylistTrack)
            .where(PlaylistTrack.symlink_path.startswith(prefix, autoescape=True))
            .values(symlink_path=new + "/" + func.substr(PlaylistTrack.symlink_path, cut))
        )
        connection.execute(
            update(Playlist).where(Playlist.tidal_id == playlist).values(local_folder_path=new)
        )


def set_folder(engine: Engine, playlist: str, folder: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Playlist).where(Playlist.tidal_id == playlist).values(local_folder_path=folder)
        )


def remove_playlist(engine: Engine, playlist: str) -> None:
    """A playlist TIDAL dropped is cleaned up: its row (and entries) go."""
    with engine.begin() as connection:
        connection.execute(delete(Playlist).where(Playlist.tidal_id == playlist))


def m3u8_entries(
    engine: Engine, playlist: str, *, primaries: bool = False
) -> list[tuple[str, str, str, int | None]]:
    """(path, artist, title, duration) per position of ``playlist``, in TIDAL order;
    the path is the entry's own (its link or the primary), or with ``primaries``
    always the track's primary."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                PlaylistTrack.is_primary,
                PlaylistTrack.symlink_path,
                Track.file_path,
                Track.artist,
                Track.title,
                Track.duration,
            )
            .join(Track, Track.id == PlaylistTrack.track_id)
            .join(Playlist, Playlist.id == PlaylistTrack.playlist_id)
            .where(Playlist.tidal_id == playlist, PlaylistTrack.position.is_not(None))
            .order_by(PlaylistTrack.position)
        ).all()
    entries = []
    for row in rows:
        path = row.file_path if row.is_primary or primaries else row.symlink_path
        if path:
            entries.append((path, row.artist, row.title, row.duration))
    return entries


def load_placed_files(
    engine: Engine,
) -> tuple[dict[int, str | None], list[tuple[int, str | None]]]:
    """Each track's primary path (by track key), and (track key, path) of every link
    of an entry TIDAL still lists."""
    with engine.connect() as connection:
        primaries = dict(
            connection.execute(
                select(Track.id, Track.file_path).where(Track.file_path.is_not(None))
            )
            .tuples()
            .all()
        )
        links = (
            connection.execute(
                select(PlaylistTrack.track_id, PlaylistTrack.symlink_path).where(
                    PlaylistTrack.symlink_path.is_not(None), PlaylistTrack.position.is_not(None)
                )
            )
            .tuples()
            .all()
        )
    return primaries, list(links)


def action_outcomes(engine: Engine, plan_id: int) -> list[tuple[str | None, str, str, str | None]]:
    """(playlist, kind, status, error) of each of the plan's actions."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                PlanAction.playlist_tidal_id, PlanAction.kind, PlanAction.status, PlanAction.error
            ).where(PlanAction.plan_id == plan_id)
        ).tuples()
        return [(playlist, kind, str(status), error) for playlist, kind, status, error in rows]


def count_delivered_in(engine: Engine, qualities: Sequence[str]) -> int:
    """How many stored tracks TIDAL delivered in one of ``qualities`` (an index lookup:
    every playlist of a library run reports it)."""
    query = select(func.count()).where(
        Track.file_path.is_not(None), Track.audio_quality.in_(qualities)
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def delivered_in(engine: Engine, qualities: Sequence[str]) -> list[tuple[int, str]]:
    """(TIDAL id, delivered quality) of the stored tracks TIDAL delivered in one of
    ``qualities``, by id."""
    query = select(Track.tidal_id, Track.audio_quality).where(
        Track.file_path.is_not(None), Track.audio_quality.in_(qualities)
    )
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(Track.tidal_id)).tuples()
        return [(tidal_id, str(quality)) for tidal_id, quality in rows]
