"""Persisting file-system scans: one row per path under ``Playlists/``, in bulk.

The table holds the latest scan (rows not seen again are deleted), which is
also what the next scan compares against to skip re-reading unchanged files,
and each path's match to a TIDAL track, which planning reads (the scan service,
``services.scan``, decides both; this module only reads and writes rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, select, update

from tidal_sync_assets.database.bulk import ROWS_PER_STATEMENT, STREAMED_ROWS, upsert
from tidal_sync_assets.database.models import (
    Playlist,
    PlaylistTrack,
    ScannedFile,
    ScanRecord,
    Track,
)
from tidal_sync_assets.disk.entry import AudioTags, EntryKind, ScannedEntry, ScanResult, ScanStat
from tidal_sync_assets.planning.placement import FileRewritten

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

_AUDIO_COLUMNS = ("audio_checked", "audio_damage")
_PLACED = ("matched_tidal_id", "match_method", "ownership")
_UPDATED = (*_ENTRY_COLUMNS, *_TAG_COLUMNS.values(), *_AUDIO_COLUMNS, *_PLACED, "scan_id")


# Where a scanned path stands: the track it matches (and how), and whose it is.
Placed = tuple[int | None, str | None, str]


@dataclass(frozen=True, slots=True)
class PlacedPaths:
    """What the product placed, as paths: each primary (-> its track and the size the
    product recorded), every link, and each playlist's folder."""

    primaries: dict[str, tuple[int, int | None]]
    links: set[str]
    folders: set[str]


def load_placed_paths(engine: Engine) -> PlacedPaths:
    with engine.connect() as connection:
        primaries = connection.execute(
            select(Track.file_path, Track.tidal_id, Track.file_size).where(
                Track.file_path.is_not(None)
            )
        ).tuples()
        links = connection.execute(
            select(PlaylistTrack.symlink_path).where(PlaylistTrack.symlink_path.is_not(None))
        ).scalars()
        folders = connection.execute(
            select(Playlist.local_folder_path).where(Playlist.local_folder_path.is_not(None))
        ).scalars()
        return PlacedPaths(
            {path: (tidal_id, size) for path, tidal_id, size in primaries if path},
            {p for p in links if p},
            {f for f in folders if f},
        )


def _row(entry: ScannedEntry, placed: Placed, scan_id: int) -> dict[str, object]:
    tags = entry.tags or AudioTags()
    return {
        "path": entry.path,
        **{column: getattr(entry, column) for column in _ENTRY_COLUMNS},
        **{column: getattr(tags, field) for field, column in _TAG_COLUMNS.items()},
        **{column: getattr(entry, column) for column in _AUDIO_COLUMNS},
        **dict(zip(_PLACED, placed, strict=True)),
        "scan_id": scan_id,
    }


def library_seen(engine: Engine) -> bool:
    """Whether this database has scanned a library before (its root must exist now)."""
    with engine.connect() as connection:
        return connection.execute(select(ScanRecord.id).limit(1)).first() is not None


@dataclass(frozen=True, slots=True)
class StoredScan:
    """The latest scan as stored: its entries, and each path's match and ownership."""

    entries: dict[str, ScannedEntry]
    placed: dict[str, Placed]  # path -> (track, method, ownership)

    def matched(self) -> dict[str, int]:
        """Each path the scan matched to a track -> that track."""
        return {path: track for path, (track, _, _) in self.placed.items() if track is not None}


def load_scan(engine: Engine, *, tags: bool = True) -> StoredScan:
    """The latest scan, by path: rows streamed as plain tuples, each value named as it
    is unpacked (150,000 of them load in about a second). Without ``tags`` (the planner
    reads none) the entries carry none: a tenth less memory and a fifth less time for
    the planner's state."""
    f = ScannedFile
    query = select(
        f.path,
        f.kind,
        f.size,
        f.mtime_ns,
        f.inode,
        f.nlink,
        f.link_target,
        f.link_resolves_to,
        f.link_outside_root,
        f.error,
        f.audio_checked,
        f.audio_damage,
        f.matched_tidal_id,
        f.match_method,
        f.ownership,
        *(getattr(f, column) for column in (_TAG_COLUMNS.values() if tags else ())),
    )
    entries: dict[str, ScannedEntry] = {}
    placed: dict[str, Placed] = {}
    kinds = {kind.value: kind for kind in EntryKind}
    with engine.connect() as connection:
        for (
            path,
            kind,
            size,
            mtime_ns,
            inode,
            nlink,
            link_target,
            link_resolves_to,
            link_outside_root,
            error,
            audio_checked,
            audio_damage,
            matched_tidal_id,
            match_method,
            ownership,
            *tag_values,
        ) in connection.execution_options(yield_per=STREAMED_ROWS).execute(query).tuples():
            entries[path] = ScannedEntry(
                path=path,
                kind=kinds[kind],
                size=size,
                mtime_ns=mtime_ns,
                inode=inode,
                nlink=nlink,
                link_target=link_target,
                link_resolves_to=link_resolves_to,
                link_outside_root=link_outside_root,
                tags=AudioTags(**dict(zip(_TAG_COLUMNS, tag_values, strict=True)))
                if any(v is not None for v in tag_values)
                else None,
                error=error,
                audio_checked=bool(audio_checked),
                audio_damage=audio_damage,
            )
            placed[path] = (matched_tidal_id, match_method, ownership)
    return StoredScan(entries, placed)


def load_scanned_stats(engine: Engine) -> dict[str, ScanStat]:
    """The latest scan's stats by path, as plain tuples (no tags, verdicts or matches):
    what a walk of the disk compares with to tell that nothing changed since."""
    table = ScannedFile.__table__
    columns = ("path", *_ENTRY_COLUMNS)
    with engine.connect() as connection:
        # Iterated, not fetched whole: 150,000 rows without building them twice.
        rows = connection.execution_options(yield_per=STREAMED_ROWS).execute(
            select(*[table.c[c] for c in columns])
        )
        return {row[0]: row[1:] for row in rows}


@dataclass(frozen=True, slots=True)
class SavedScan:
    scan_id: int
    changes: int  # rows written or removed: 0 when the disk is as the last scan left it


def file_rewritten(connection: Connection, rewritten: FileRewritten) -> None:
    """The product rewrote its file in place: the row takes its new stat and tags and
    keeps its decode verdict (a tag write leaves the audio as it was)."""
    tags = rewritten.tags
    connection.execute(
        update(ScannedFile)
        .where(ScannedFile.path == rewritten.path)
        .values(
            inode=rewritten.inode,
            size=rewritten.size,
            mtime_ns=rewritten.mtime_ns,
            **{column: getattr(tags, field) for field, column in _TAG_COLUMNS.items()},
        )
    )


def load_damage_stats(engine: Engine) -> dict[str, tuple[int, int, int, str | None]]:
    """Path -> (inode, size, mtime, why) of every file the latest scan found damaged."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ScannedFile.path,
                ScannedFile.inode,
                ScannedFile.size,
                ScannedFile.mtime_ns,
                ScannedFile.audio_damage,
            ).where(ScannedFile.audio_damage.is_not(None))
        ).tuples()
        return {path: (inode, size, mtime, why) for path, inode, size, mtime, why in rows}


def load_damaged(engine: Engine) -> list[tuple[str, str]]:
    """(path, why) of every file the latest scan found damaged, by path."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(ScannedFile.path, ScannedFile.audio_damage)
            .where(ScannedFile.audio_damage.is_not(None))
            .order_by(ScannedFile.path)
        )
        return [(path, str(why)) for path, why in rows.tuples()]


def save_scan(
    engine: Engine,
    root: Path,
    result: ScanResult,
    placed: Mapping[str, Placed],
    started_at: datetime,
    previous: StoredScan,
) -> SavedScan:
    """Store the scan taken against ``previous``, each entry with its ``placed`` (match
    and ownership). Paths not seen this time are dropped.

    Only rows that differ from the stored ones are written, stamped with this
    scan's id: an entry the scan carried over unchanged (the same object) with
    the same match and ownership is not even turned into a row. The scan records
    how many rows it wrote or removed, which tells a later plan nothing moved.
    """
    changed = [
        entry
        for entry in result.entries
        if previous.entries.get(entry.path) is not entry
        or previous.placed[entry.path] != placed[entry.path]
    ]
    seen = {entry.path for entry in result.entries}
    gone = [path for path in previous.entries if path not in seen]
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
        rows = (_row(e, placed[e.path], scan_id) for e in changed)
        written = upsert(
            connection,
            ScannedFile.__table__,  # type: ignore[arg-type]
            (r for r in rows if not _same(r, previous)),
            keys=["path"],
            update=_UPDATED,
        )
        for batch in range(0, len(gone), ROWS_PER_STATEMENT):
            paths = gone[batch : batch + ROWS_PER_STATEMENT]
            connection.execute(delete(ScannedFile).where(ScannedFile.path.in_(paths)))
        changes = written + len(gone)
        connection.execute(
            update(ScanRecord).where(ScanRecord.id == scan_id).values(changes=changes)
        )
    return SavedScan(scan_id, changes)


def _same(row: dict[str, object], previous: StoredScan) -> bool:
    """Whether ``row`` holds what is stored already (a re-made entry, equal in value)."""
    path = str(row["path"])
    before = previous.entries.get(path)
    if before is None:
        return False
    stored = _row(before, previous.placed[path], 0)
    return all(stored[c] == row[c] for c in _UPDATED if c != "scan_id")
