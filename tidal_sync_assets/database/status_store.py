"""The seed's sync status fields: the one module that writes them.

``playlists.sync_status`` and ``playlist_tracks.sync_status`` (with
``symlink_valid`` and ``synced_at``) are set here only: after a snapshot
(entries TIDAL dropped, or listed again), from a diff (what ``planning.status``
decided for every entry and playlist), and as the library places files (an entry
placed, a playlist in step). Other stores call these functions inside their own
transactions. It also reads them back for ``tidal-sync status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Update, bindparam, case, func, select, update

from tidal_sync_assets.database.bulk import ROWS_PER_EXECUTE, ROWS_PER_STATEMENT, chunks
from tidal_sync_assets.database.models import (
    DownloadStatus,
    Playlist,
    PlaylistSyncStatus,
    PlaylistTrack,
    Track,
    TrackSyncStatus,
)
from tidal_sync_assets.planning.status import UNAVAILABLE_REASON, DiffStatuses


def save_statuses(engine: Engine, statuses: DiffStatuses) -> None:
    """Write the status fields a diff decided (``planning.status``); only what changed."""
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
            wanted = statuses.entries.get(
                (playlists[row.playlist_id].tidal_id, tracks[row.track_id])
            )
            if wanted is not None and (row.sync_status, row.symlink_valid) != wanted:
                changed.append({"row": row.id, "status": wanted[0], "valid": wanted[1]})
        statement = (
            update(PlaylistTrack)
            .where(PlaylistTrack.id == bindparam("row"))
            .values(sync_status=bindparam("status"), symlink_valid=bindparam("valid"))
            .execution_options(synchronize_session=False)
        )
        for batch in chunks(changed, ROWS_PER_EXECUTE):
            connection.execute(statement, batch)
        connection.execute(_dropped_entries().values(sync_status=TrackSyncStatus.NEEDS_REMOVAL))
        for batch in chunks(({"t": t} for t in statuses.not_downloaded), ROWS_PER_EXECUTE):
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
        for batch in chunks(({"t": t} for t in statuses.unavailable), ROWS_PER_EXECUTE):
            connection.execute(
                update(Track)
                .where(Track.tidal_id == bindparam("t"))
                .values(download_status=DownloadStatus.ERROR, download_error=UNAVAILABLE_REASON)
                .execution_options(synchronize_session=False),
                batch,
            )
        was = {row.tidal_id: row.sync_status for row in playlists.values()}
        for playlist, wanted_status in statuses.playlists.items():
            if was.get(playlist) != wanted_status:
                connection.execute(
                    update(Playlist)
                    .where(Playlist.tidal_id == playlist)
                    .where(Playlist.removed_from_tidal.is_(False))
                    .values(sync_status=wanted_status)
                )


def _dropped_entries() -> Update:
    return update(PlaylistTrack).where(PlaylistTrack.position.is_(None))


def entries_after_snapshot(connection: Connection, playlist_pks: Sequence[int]) -> None:
    """The replaced playlists' entries TIDAL dropped await removal; those it lists
    again (re-added before the cleanup) are unknown until the next diff."""
    for start in range(0, len(playlist_pks), ROWS_PER_STATEMENT):
        batch = playlist_pks[start : start + ROWS_PER_STATEMENT]
        connection.execute(
            _dropped_entries()
            .where(PlaylistTrack.playlist_id.in_(batch))
            .where(PlaylistTrack.sync_status != TrackSyncStatus.NEEDS_REMOVAL)
            .values(sync_status=TrackSyncStatus.NEEDS_REMOVAL)
        )
        connection.execute(
            update(PlaylistTrack)
            .where(PlaylistTrack.playlist_id.in_(batch))
            .where(PlaylistTrack.position.is_not(None))
            .where(PlaylistTrack.sync_status == TrackSyncStatus.NEEDS_REMOVAL)
            .values(sync_status=TrackSyncStatus.UNKNOWN)
        )


def playlists_removed(connection: Connection, tidal_ids: Sequence[str]) -> None:
    """Playlists gone from TIDAL await the removal of what the product placed for them."""
    connection.execute(
        update(Playlist)
        .where(Playlist.tidal_id.in_(tidal_ids))
        .values(sync_status=PlaylistSyncStatus.NEEDS_REMOVAL)
    )


def entry_placed(connection: Connection, *where: Any, **values: Any) -> None:
    """The entries ``where`` selects are in place (a primary or a link), as of now;
    ``values`` are the placement columns written with the status."""
    connection.execute(
        update(PlaylistTrack)
        .where(*where)
        .values(**values, sync_status=TrackSyncStatus.SYNCED, synced_at=datetime.now(UTC))
    )


def playlist_synced(connection: Connection, playlist: str, in_sync: bool) -> None:
    """The library ran ``playlist``'s actions; ``in_sync``: all of them succeeded."""
    values: dict[str, Any] = {"last_synced_filesystem": datetime.now(UTC)}
    if in_sync:
        values["sync_status"] = PlaylistSyncStatus.IN_SYNC
        values["synced_last_updated"] = Playlist.last_updated_tidal
    connection.execute(
        update(Playlist)
        .where(Playlist.tidal_id == playlist, Playlist.removed_from_tidal.is_(False))
        .values(**values)
    )


@dataclass(frozen=True, slots=True)
class PlaylistStatus:
    name: str
    sync_status: str
    tracks: int
    missing: int
    failed: int


def playlist_statuses(engine: Engine) -> list[PlaylistStatus]:
    """Per playlist, by name: its sync status, tracks, tracks without a file, failed ones."""
    missing = func.sum(case((Track.file_path.is_(None), 1), else_=0))
    failed = func.sum(case((Track.download_status == DownloadStatus.ERROR, 1), else_=0))
    query = (
        select(
            Playlist.name,
            Playlist.sync_status,
            func.count(PlaylistTrack.id),
            func.coalesce(missing, 0),
            func.coalesce(failed, 0),
        )
        .select_from(Playlist)
        .outerjoin(
            PlaylistTrack,
            (PlaylistTrack.playlist_id == Playlist.id) & PlaylistTrack.position.is_not(None),
        )
        .outerjoin(Track, Track.id == PlaylistTrack.track_id)
        .group_by(Playlist.id, Playlist.name, Playlist.sync_status)
        .order_by(Playlist.name)
    )
    with engine.connect() as connection:
        return [
            PlaylistStatus(name, str(status.value if hasattr(status, "value") else status), *nums)
            for name, status, *nums in connection.execute(query).tuples()
        ]
