"""Persisting file-system scans: one row per path under ``Playlists/``, in bulk.

The table holds the latest scan (rows not seen again are deleted), which is
also what the next scan compares against to skip re-reading unchanged files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, delete, select, update

from tidal_sync_assets.database.bulk import ROWS_PER_STATEMENT, upsert
from tidal_sync_assets.database.models import (
    Playlist,
    PlaylistTrack,
    ScannedFile,
    ScanRecord,
    Track,
)
from tidal_sync_assets.disk.entry import AudioTags, EntryKind, Ownership, ScannedEntry
from tidal_sync_assets.disk.integrity import audio_candidates, check_audio
from tidal_sync_assets.disk.m3u8 import m3u8_path_for
from tidal_sync_assets.disk.match import Match, match_entries
from tidal_sync_assets.disk.scan import ScanResult, is_internal, scan_library
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

_AUDIO_COLUMNS = ("audio_checked", "audio_damage")
_PLACED = ("matched_tidal_id", "match_method", "ownership")
_UPDATED = (*_ENTRY_COLUMNS, *_TAG_COLUMNS.values(), *_AUDIO_COLUMNS, *_PLACED, "scan_id")


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
        **{column: getattr(entry, column) for column in _AUDIO_COLUMNS},
        "matched_tidal_id": match.track_id if match else None,
        "match_method": match.method if match else None,
        "ownership": ownership(entry, match, managed),
        "scan_id": scan_id,
    }


def library_seen(engine: Engine) -> bool:
    """Whether this database has scanned a library before (its root must exist now)."""
    with engine.connect() as connection:
        return connection.execute(select(ScanRecord.id).limit(1)).first() is not None


_STORED_COLUMNS = ("path", *_ENTRY_COLUMNS, *_TAG_COLUMNS.values(), *_AUDIO_COLUMNS, *_PLACED)


@dataclass(frozen=True, slots=True)
class StoredScan:
    """The latest scan as stored: its entries, and each path's match and ownership."""

    entries: dict[str, ScannedEntry]
    placed: dict[str, tuple[int | None, str | None, str]]  # path -> (track, method, ownership)


def load_scan(engine: Engine) -> StoredScan:
    """The latest scan, by path (positional rows: 150,000 of them load in about a second)."""
    table = ScannedFile.__table__
    with engine.connect() as connection:
        rows = connection.execute(select(*[table.c[c] for c in _STORED_COLUMNS])).tuples().all()
    entries: dict[str, ScannedEntry] = {}
    placed: dict[str, tuple[int | None, str | None, str]] = {}
    kinds = {kind.value: kind for kind in EntryKind}
    tags_end = 1 + len(_ENTRY_COLUMNS) + len(_TAG_COLUMNS)
    tags_at = slice(1 + len(_ENTRY_COLUMNS), tags_end)
    for row in rows:
        path, kind, size, mtime, inode, nlink, target, resolves, outside, error = row[:10]
        tag_values = row[tags_at]
        tags = AudioTags(*tag_values) if any(v is not None for v in tag_values) else None
        checked, damage = row[tags_end : tags_end + len(_AUDIO_COLUMNS)]
        entries[path] = ScannedEntry(
            path,
            kinds[kind],
            size,
            mtime,
            inode,
            nlink,
            target,
            resolves,
            outside,
            tags,
            error,
            bool(checked),
            damage,
        )
        placed[path] = row[-3:]
    return StoredScan(entries, placed)


def load_entries(engine: Engine) -> dict[str, ScannedEntry]:
    """The latest scan, by path."""
    return load_scan(engine).entries


_TRACK_COLUMNS = (
    Track.tidal_id,
    Track.title,
    Track.artist,
    Track.album,
    Track.album_artist,
    Track.album_id,
    Track.track_number,
    Track.isrc,
    Track.duration,
    Track.version,
    Track.allow_streaming,
    Track.bpm,
    Track.musical_key,
    Track.release_date,
)
_FEW = 1_000  # more ids than this: read every row and keep the wanted ones


def load_tracks(engine: Engine, tidal_ids: Iterable[int] | None = None) -> dict[int, TidalTrack]:
    """Stored TIDAL tracks as snapshot records (all, or just ``tidal_ids``)."""
    wanted = None if tidal_ids is None else set(tidal_ids)
    query = select(*_TRACK_COLUMNS)
    if wanted is not None and len(wanted) <= _FEW:
        query = query.where(Track.tidal_id.in_(wanted))
    with engine.connect() as connection:
        rows = connection.execute(query).tuples().all()
    return {
        tidal_id: TidalTrack(
            tidal_id, title, (artist,), album, album_artist, album_id, number, isrc, *rest
        )
        for tidal_id, title, artist, album, album_artist, album_id, number, isrc, *rest in rows
        if wanted is None or tidal_id in wanted
    }


class KnownTracks(Mapping[int, TidalTrack]):
    """Every stored track for matching: the ids at once, the rows on first need.

    Files the product tagged match by ``TIDAL_TRACK_ID``, which needs only the
    ids; the rows (and the name index built from them) are loaded only when a
    file has to be matched by ISRC or by name.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        with engine.connect() as connection:
            self._ids = set(connection.execute(select(Track.tidal_id)).scalars())
        self._rows: dict[int, TidalTrack] | None = None

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __getitem__(self, key: int) -> TidalTrack:
        if key not in self._ids:
            raise KeyError(key)
        if self._rows is None:
            self._rows = load_tracks(self._engine, None)
        return self._rows[key]


@dataclass(frozen=True, slots=True)
class SavedScan:
    scan_id: int
    changes: int  # rows written or removed: 0 when the disk is as the last scan left it
    owners: Counter[Ownership]
    user_paths: list[str]  # the user's own entries, sorted


def scan_and_save(
    engine: Engine, root: Path, started_at: datetime, workers: int | None = None
) -> tuple[ScanResult, SavedScan]:
    """Scan ``root`` against the stored scan, match what changed, and store it."""
    previous = load_scan(engine)
    result = scan_library(root, previous.entries, workers=workers)
    tracks = KnownTracks(engine)
    matches = match_entries(result.entries, tracks)
    managed = load_managed_paths(engine)
    wanted = audio_candidates(
        result.entries, matches, managed, load_primary_paths(engine), previous.entries
    )
    check_audio(
        root, result.entries, {path: tracks[track].duration for path, track in wanted.items()}
    )
    # A damaged file is not the track: never adopted, it stays the user's (or, where the
    # track's file belongs, goes to the trash when the download takes its place).
    damaged = [entry for entry in result.entries if entry.audio_damage is not None]
    broken = {entry.path for entry in damaged}
    matches = {path: match for path, match in matches.items() if path not in broken}
    result = replace(result, decoded=len(wanted), damaged=damaged)
    saved = save_scan(engine, root, result, matches, managed, started_at, previous)
    return result, saved


def load_primary_paths(engine: Engine) -> dict[str, tuple[int, int | None]]:
    """Each managed primary's path -> its TIDAL track and the size the product recorded."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Track.file_path, Track.tidal_id, Track.file_size).where(
                Track.file_path.is_not(None)
            )
        )
        return {path: (tidal_id, size) for path, tidal_id, size in rows.tuples() if path}


def damage_at(engine: Engine, path: str) -> str | None:
    """Why the latest scan found the file at ``path`` damaged; None if it did not."""
    with engine.connect() as connection:
        return connection.execute(
            select(ScannedFile.audio_damage).where(ScannedFile.path == path)
        ).scalar()


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
    matches: Mapping[str, Match],
    managed: Set[str],
    started_at: datetime,
    previous: StoredScan,
) -> SavedScan:
    """Store the scan taken against ``previous``. Paths not seen this time are dropped.

    Only rows that differ from the stored ones are written, stamped with this
    scan's id: an entry the scan carried over unchanged (the same object) with
    the same match and ownership is not even turned into a row. The scan records
    how many rows it wrote or removed, which tells a later plan nothing moved.
    """
    owners: Counter[Ownership] = Counter()
    user_paths: list[str] = []
    changed: list[ScannedEntry] = []
    for entry in result.entries:
        match = matches.get(entry.path)
        owner = ownership(entry, match, managed)
        owners[owner] += 1
        if owner is Ownership.USER:
            user_paths.append(entry.path)
        placed = (match.track_id, match.method, owner.value) if match else (None, None, owner.value)
        if previous.entries.get(entry.path) is not entry or previous.placed[entry.path] != placed:
            changed.append(entry)
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
        rows = (_row(e, matches.get(e.path), managed, scan_id) for e in changed)
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
    return SavedScan(scan_id, changes, owners, sorted(user_paths))


def _same(row: dict[str, object], previous: StoredScan) -> bool:
    """Whether ``row`` holds what is stored already (a re-made entry, equal in value)."""
    path = str(row["path"])
    before = previous.entries.get(path)
    if before is None:
        return False
    stored = _row(before, None, set(), 0)
    stored.update(zip(_PLACED, previous.placed[path], strict=True))
    return all(stored[c] == row[c] for c in _UPDATED if c != "scan_id")
