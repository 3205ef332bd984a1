"""Persisting file-system scans: one row per path under ``Playlists/``, in bulk.

The table holds the latest scan (rows not seen again are deleted), which is
also what the next scan compares against to skip re-reading unchanged files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, RowMapping, delete, select, update

from tidal_sync_assets.database.bulk import ROWS_PER_STATEMENT, upsert
from tidal_sync_assets.database.models import (
    Playlist,
    PlaylistTrack,
    ScannedFile,
    ScanRecord,
    Track,
)
from tidal_sync_assets.disk.entry import AudioTags, EntryKind, Ownership, ScannedEntry
from tidal_sync_assets.disk.m3u8 import m3u8_path_for
from tidal_sync_assets.disk.match import Match
from tidal_sync_assets.disk.scan import ScanResult, is_internal
from tidal_sync_assets.tidal.snapshot import TidalTrack

_TAG_COLUMNS = {
    "title": "title",
    "artist": "artist",
    "album": "album",
    "album_artist": "album_artist",
    "track_number": "track_number",
    "isrc": "isrc",
    "tidal_track_id": "tag_tidal_id",
    "duration": "duration",
}
_ENTRY_COLUMNS = (
    "kind",
    "size",
    "mtime_ns",
    "inode",
    "nlink",
    "link_target",
    "link_resolves_to",
    "link_outside_root",
    "error",
)

_UPDATED = (
    *_ENTRY_COLUMNS,
    *_TAG_COLUMNS.values(),
    "matched_tidal_id",
    "match_method",
    "ownership",
    "scan_id",
)


def ownership(entry: ScannedEntry, match: Match | None, managed: Set[str]) -> Ownership:
    """Managed: placed by the product or matching a TIDAL track; else the user's."""
    if is_internal(entry.path):
        return Ownership.INTERNAL
    if match is not None or entry.path in managed:
        return Ownership.MANAGED
    return Ownership.USER


def load_managed_paths(engine: Engine) -> set[str]:
    """Every path the product placed: primaries, links and playlists' M3U8s."""
    with engine.connect() as connection:
        primaries = connection.execute(select(Track.file_path).where(Track.file_path.is_not(None)))
        links = connection.execute(
            select(PlaylistTrack.symlink_path).where(PlaylistTrack.symlink_path.is_not(None))
        )
        folders = connection.execute(
            select(Playlist.local_folder_path).where(Playlist.local_folder_path.is_not(None))
        )
        return (
            {p for (p,) in primaries if p}
            | {p for (p,) in links if p}
            | {m3u8_path_for(f) for (f,) in folders if f}
        )


def _row(
    entry: ScannedEntry, match: Match | None, managed: Set[str], scan_id: int
) -> dict[str, object]:
    tags = entry.tags or AudioTags()
    return {
        "path": entry.path,
        **{column: getattr(entry, column) for column in _ENTRY_COLUMNS},
        **{column: getattr(tags, field) for field, column in _TAG_COLUMNS.items()},
        "matched_tidal_id": match.track_id if match else None,
        "match_method": match.method if match else None,
        "ownership": ownership(entry, match, managed),
        "scan_id": scan_id,
    }


def library_seen(engine: Engine) -> bool:
    """Whether this database has scanned a library before (its root must exist now)."""
    with engine.connect() as connection:
        return connection.execute(select(ScanRecord.id).limit(1)).first() is not None


def load_entries(engine: Engine) -> dict[str, ScannedEntry]:
    """The latest scan, by path."""
    with engine.connect() as connection:
        rows = connection.execute(select(ScannedFile.__table__)).mappings().all()
    return {row["path"]: _entry(row) for row in rows}


def _entry(row: RowMapping) -> ScannedEntry:
    has_tags = any(row[column] is not None for column in _TAG_COLUMNS.values())
    tags = (
        AudioTags(**{field: row[column] for field, column in _TAG_COLUMNS.items()})
        if has_tags
        else None
    )
    values = {column: row[column] for column in _ENTRY_COLUMNS}
    values["kind"] = EntryKind(str(values["kind"]))
    return ScannedEntry(path=str(row["path"]), tags=tags, **values)


def load_tracks(engine: Engine, tidal_ids: Iterable[int] | None = None) -> dict[int, TidalTrack]:
    """Stored TIDAL tracks as snapshot records (all, or just ``tidal_ids``)."""
    query = select(Track.__table__)
    if tidal_ids is not None:
        query = query.where(Track.tidal_id.in_(list(tidal_ids)))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        return {
            row.tidal_id: TidalTrack(
                tidal_id=row.tidal_id,
                title=row.title,
                artists=(row.artist,),
                album=row.album,
                album_artist=row.album_artist,
                album_id=row.album_id,
                track_number=row.track_number,
                isrc=row.isrc,
                duration=row.duration,
                version=row.version,
                allow_streaming=row.allow_streaming,
            )
            for row in rows
        }


def save_scan(
    engine: Engine,
    root: Path,
    result: ScanResult,
    matches: Mapping[str, Match],
    managed: Set[str],
    started_at: datetime,
) -> int:
    """Store the scan; returns its id. Paths not seen this time are dropped.

    Only rows that differ from the stored ones are written, stamped with this
    scan's id (a warm rescan changes few); the scan records how many rows it
    wrote or removed, which is what tells a later plan nothing moved on disk.
    """
    with engine.begin() as connection:
        inserted = connection.execute(
            ScanRecord.__table__.insert().values(  # type: ignore[attr-defined]
                root=str(root),
                started_at=started_at,
                finished_at=datetime.now(UTC),
                entries=len(result.entries),
                reread=result.reread,
                errors=len(result.errors),
            )
        ).inserted_primary_key
        scan_id = int(inserted[0]) if inserted else 0
        compared = [c for c in _UPDATED if c != "scan_id"]
        table = ScannedFile.__table__
        stored = {
            path: tuple(values)
            for path, *values in connection.execute(
                select(table.c.path, *[table.c[c] for c in compared])
            ).tuples()
        }
        rows = [_row(e, matches.get(e.path), managed, scan_id) for e in result.entries]
        written = upsert(
            connection,
            table,  # type: ignore[arg-type]
            (r for r in rows if stored.get(str(r["path"])) != tuple(r[c] for c in compared)),
            keys=["path"],
            update=_UPDATED,
        )
        gone = list(stored.keys() - {str(r["path"]) for r in rows})
        for batch in range(0, len(gone), ROWS_PER_STATEMENT):
            paths = gone[batch : batch + ROWS_PER_STATEMENT]
            connection.execute(delete(ScannedFile).where(ScannedFile.path.in_(paths)))
        connection.execute(
            update(ScanRecord).where(ScanRecord.id == scan_id).values(changes=written + len(gone))
        )
    return scan_id
