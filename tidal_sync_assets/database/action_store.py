"""Recording what the library executor did: action outcomes and the placement.

The placement columns (``tracks.file_path``, ``playlist_tracks.symlink_path``
and ``is_primary``, ``playlists.local_folder_path``) say what the product put
on disk; the planner treats exactly those paths as managed. The executor hands
over what it did as ``planning.placement`` records, in batches: each batch is
one transaction, its records written in the order they happened. What a killed
process did on disk but never handed over is found again from its plan
(``library.recovery``) before the next scan reads the placement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from tidal_sync_assets.database import scan_store, status_store
from tidal_sync_assets.database.models import (
    ActionStatus,
    DownloadStatus,
    PlanAction,
    Playlist,
    PlaylistTrack,
    Track,
)
from tidal_sync_assets.planning.placement import (
    ActionFinished,
    Delivered,
    DownloadFailed,
    DownloadStarted,
    FileRewritten,
    FolderPlaced,
    FolderRenamed,
    LinkPlaced,
    M3U8Written,
    PathForgotten,
    PlaylistRemoved,
    PlaylistSynced,
    PrimaryPlaced,
    Record,
    Tagged,
)


def action_statuses(engine: Engine, plan_id: int) -> dict[int, ActionStatus]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(PlanAction.seq, PlanAction.status).where(PlanAction.plan_id == plan_id)
        ).tuples()
        return dict(rows.all())


def write_records(engine: Engine, records: Sequence[Record]) -> None:
    """Write ``records`` in one transaction: the placement in order, the outcomes in one
    statement (an action's outcome says nothing another record reads)."""
    if not records:
        return
    with engine.begin() as connection:
        finished = []
        for record in records:
            if isinstance(record, ActionFinished):
                finished.append(record)
            else:
                _WRITERS[type(record)](connection, record)
        _record_outcomes(connection, finished)


def _record_outcomes(connection: Connection, outcomes: list[ActionFinished]) -> None:
    if not outcomes:
        return
    connection.execute(
        update(PlanAction)
        .where(PlanAction.plan_id == bindparam("b_plan"))
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
                "b_plan": o.plan_id,
                "b_seq": o.seq,
                "b_status": o.status,
                "b_error": o.error,
                "b_started": o.started_at,
                "b_finished": o.finished_at,
            }
            for o in outcomes
        ],
    )


def _track_pk(connection: Connection, tidal_id: int) -> int | None:
    return connection.execute(select(Track.id).where(Track.tidal_id == tidal_id)).scalar()


def _playlist_pk(connection: Connection, tidal_id: str) -> int | None:
    return connection.execute(select(Playlist.id).where(Playlist.tidal_id == tidal_id)).scalar()


def _set_track(connection: Connection, tidal_id: int, **values: Any) -> None:
    connection.execute(update(Track).where(Track.tidal_id == tidal_id).values(**values))


def _delivered(connection: Connection, record: Delivered) -> None:
    _set_track(
        connection,
        record.track,
        audio_quality=record.audio_quality,
        codec=record.codec,
        sample_rate=record.sample_rate,
        bit_depth=record.bit_depth,
    )


def _primary_placed(connection: Connection, record: PrimaryPlaced) -> None:
    moment = datetime.now(UTC)
    _set_track(
        connection,
        record.track,
        file_path=record.path,
        file_size=record.size,
        download_status=DownloadStatus.DOWNLOADED,
        download_error=None,
        downloaded_at=moment,
        last_verified_at=moment,
    )
    track_pk = _track_pk(connection, record.track)
    playlist_pk = _playlist_pk(connection, record.playlist) if record.playlist else None
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


def _tagged(connection: Connection, record: Tagged) -> None:
    _set_track(
        connection,
        record.track,
        tagged_bpm=record.values.bpm,
        tagged_key=record.values.musical_key,
        tagged_release_date=record.values.release_date,
        tagged_notation=record.notation,
    )


def _file_rewritten(connection: Connection, record: FileRewritten) -> None:
    connection.execute(
        update(Track).where(Track.file_path == record.path).values(file_size=record.size)
    )
    scan_store.file_rewritten(connection, record)


def _download_started(connection: Connection, record: DownloadStarted) -> None:
    _download_state(connection, record.track, DownloadStatus.DOWNLOADING, None)


def _download_failed(connection: Connection, record: DownloadFailed) -> None:
    _download_state(connection, record.track, DownloadStatus.ERROR, record.error)


def _download_state(
    connection: Connection, track: int, status: DownloadStatus, error: str | None
) -> None:
    _set_track(connection, track, download_status=status, download_error=error)


def _link_placed(connection: Connection, record: LinkPlaced) -> None:
    status_store.entry_placed(
        connection,
        PlaylistTrack.track_id == _track_pk(connection, record.track),
        PlaylistTrack.playlist_id == _playlist_pk(connection, record.playlist),
        symlink_path=record.path,
        symlink_valid=True,
        is_primary=False,
    )


def _path_forgotten(connection: Connection, record: PathForgotten) -> None:
    path = record.path
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


def _folder_renamed(connection: Connection, record: FolderRenamed) -> None:
    prefix = record.old + "/"
    cut = len(prefix) + 1  # SQL substr is 1-based
    connection.execute(
        update(Track)
        .where(Track.file_path.startswith(prefix, autoescape=True))
        .values(file_path=record.new + "/" + func.substr(Track.file_path, cut))
    )
    connection.execute(
        update(PlaylistTrack)
        .where(PlaylistTrack.symlink_path.startswith(prefix, autoescape=True))
        .values(symlink_path=record.new + "/" + func.substr(PlaylistTrack.symlink_path, cut))
    )
    _folder_placed(connection, FolderPlaced(record.playlist, record.new))


def _folder_placed(connection: Connection, record: FolderPlaced) -> None:
    connection.execute(
        update(Playlist)
        .where(Playlist.tidal_id == record.playlist)
        .values(local_folder_path=record.folder)
    )


def _playlist_removed(connection: Connection, record: PlaylistRemoved) -> None:
    connection.execute(delete(Playlist).where(Playlist.tidal_id == record.playlist))


def _m3u8_written(connection: Connection, record: M3U8Written) -> None:
    connection.execute(
        update(Playlist).where(Playlist.tidal_id == record.playlist).values(m3u8_paths=record.paths)
    )


def _playlist_synced(connection: Connection, record: PlaylistSynced) -> None:
    status_store.playlist_synced(connection, record.playlist, record.in_sync)


_WRITERS: dict[type[Any], Callable[[Connection, Any], None]] = {
    FolderPlaced: _folder_placed,
    FolderRenamed: _folder_renamed,
    PlaylistRemoved: _playlist_removed,
    DownloadStarted: _download_started,
    DownloadFailed: _download_failed,
    Delivered: _delivered,
    PrimaryPlaced: _primary_placed,
    Tagged: _tagged,
    FileRewritten: _file_rewritten,
    LinkPlaced: _link_placed,
    PathForgotten: _path_forgotten,
    M3U8Written: _m3u8_written,
    PlaylistSynced: _playlist_synced,
}


def primary_path(engine: Engine, track: int) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(Track.file_path).where(Track.tidal_id == track)).scalar()


def primary_paths(engine: Engine) -> dict[int, str]:
    """Every recorded primary: TIDAL id -> path."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Track.tidal_id, Track.file_path).where(Track.file_path.is_not(None))
        ).tuples()
        return {tidal_id: path for tidal_id, path in rows if path}


def link_paths(engine: Engine, track: int) -> list[str]:
    """Where ``track``'s links (its other occurrences) are."""
    query = (
        select(PlaylistTrack.symlink_path)
        .join(Track, Track.id == PlaylistTrack.track_id)
        .where(Track.tidal_id == track, PlaylistTrack.symlink_path.is_not(None))
    )
    with engine.connect() as connection:
        return [str(path) for path in connection.execute(query).scalars()]


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
