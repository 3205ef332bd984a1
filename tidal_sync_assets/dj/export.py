"""Exporting the library for DJ software: the Rekordbox XML from the database's state.

Owns what goes into the export (each track with a file once, located at its
primary; the playlists under a ``TIDAL`` folder), writing it atomically only
when its bytes changed, and telling which primaries moved since the last
export (Rekordbox finds tracks by ``Location``: a moved one must be
relocated there).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row

from tidal_sync_assets.database.export_store import (
    ExportRecord,
    ExportRows,
    export_rows,
    record_export,
)
from tidal_sync_assets.disk.atomic import atomic_write_bytes
from tidal_sync_assets.dj.keys import KeyNotation, in_notation
from tidal_sync_assets.dj.rekordbox import CollectionTrack, FolderNode, PlaylistNode, render
from tidal_sync_assets.library.upgrade import below_wanted_quality

TIDAL_FOLDER = "TIDAL"
# Rekordbox's Kind: by the codec TIDAL delivered; by the extension for an adopted file
# (its codec is not recorded).
_CODEC_KINDS = {"flac": "FLAC File", "aac": "M4A File", "alac": "M4A File", "mp3": "MP3 File"}
_KINDS = {".flac": "FLAC File", ".m4a": "M4A File", ".mp4": "M4A File", ".mp3": "MP3 File"}


@dataclass(frozen=True, slots=True)
class ExportOutcome:
    path: Path
    written: bool  # False: the file already held exactly this export
    tracks: int
    playlists: int
    entries: int
    without_bpm: list[str] = field(default_factory=list)  # "Artist - Title"
    without_key: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # primaries' new paths
    below_quality: int = 0


def export_rekordbox(
    engine: Engine,
    root: Path,
    xml_path: Path,
    *,
    notation: KeyNotation = "classic",
    wanted_quality: str = "LOSSLESS",
) -> ExportOutcome:
    """Write the Rekordbox XML at ``xml_path`` for the library at ``root``; count the
    exported tracks TIDAL delivered below ``wanted_quality`` (as ``status`` does)."""
    rows = export_rows(engine)
    # Plain strings, not Path objects: this runs once per track of a large library.
    # The size is the one recorded when the primary was placed (remuxed and tagged), so
    # the export reads nothing but the database.
    tracks = [
        _collection_track(row, os.path.join(root, row.file_path), notation) for row in rows.tracks
    ]
    tree = _tree(rows)
    data = render(tracks, tree)
    written = _write_if_changed(xml_path, data)
    relocated = [
        (row, track.path)
        for row, track in zip(rows.tracks, tracks, strict=True)
        if row.location != track.path
    ]
    moved = [path for row, path in relocated if row.location is not None]
    below = {tidal_id for tidal_id, _ in below_wanted_quality(engine, wanted_quality)}
    record_export(
        engine,
        ExportRecord(
            path=str(xml_path),
            digest=hashlib.sha256(data).hexdigest(),
            written=written,
            tracks=len(tracks),
            playlists=len(rows.playlists),
            locations=[(row.track_id, path) for row, path in relocated],
            moved=len(moved),
        ),
    )
    return ExportOutcome(
        path=xml_path,
        written=written,
        tracks=len(tracks),
        playlists=len(rows.playlists),
        entries=sum(len(p.track_ids) for p in tree.children if isinstance(p, PlaylistNode)),
        without_bpm=[f"{t.artist} - {t.name}" for t in tracks if t.bpm is None],
        without_key=[f"{t.artist} - {t.name}" for t in tracks if t.tonality is None],
        moved=moved,
        below_quality=sum(1 for row in rows.tracks if row.tidal_id in below),
    )


def _collection_track(row: Row[Any], path: str, notation: KeyNotation) -> CollectionTrack:
    kind = _CODEC_KINDS.get(row.codec) or _KINDS.get(
        os.path.splitext(row.file_path)[1].lower(), "Audio File"
    )
    sample_rate, bit_rate = _stream_info(row, row.file_size)
    return CollectionTrack(
        track_id=row.track_id,
        path=path,
        name=f"{row.title} ({row.version})" if row.version else row.title,
        artist=row.artist,
        album=row.album,
        kind=kind,
        size=row.file_size,
        total_time=row.duration,
        sample_rate=sample_rate,
        bit_rate=bit_rate,
        bpm=row.bpm,
        tonality=in_notation(row.musical_key, notation),
        year=int(row.release_date[:4]) if row.release_date else None,
    )


def _stream_info(row: Row[Any], size: int) -> tuple[int | None, int | None]:
    """``SampleRate`` (what TIDAL delivered; unknown for an adopted file) and ``BitRate``
    in kbit/s: the file's average, size over the duration (TIDAL's duration is the
    served audio's length), which is what FLAC and AAC have as a rate."""
    bit_rate = round(size * 8 / row.duration / 1000) if row.duration and size else None
    return row.sample_rate, bit_rate


def _tree(rows: ExportRows) -> FolderNode:
    """The TIDAL folder holding the account's folders (by name) and playlists (by name),
    nested as on TIDAL; a playlist's entries are tracks with a primary, as the
    collection's are (a Key must name a TRACK there)."""
    top = _Folder()
    for row in rows.playlists:
        folder = top
        for name in json.loads(row.tidal_folder) if row.tidal_folder else ():
            folder = folder.folders.setdefault(name, _Folder())
        track_ids = tuple(rows.entries.get(row.tidal_id, ()))
        folder.playlists.append(PlaylistNode(name=row.name, track_ids=track_ids))
    return top.node(TIDAL_FOLDER)


@dataclass
class _Folder:
    folders: dict[str, _Folder] = field(default_factory=dict)
    playlists: list[PlaylistNode] = field(default_factory=list)

    def node(self, name: str) -> FolderNode:
        folders = [self.folders[n].node(n) for n in sorted(self.folders, key=str.casefold)]
        return FolderNode(name=name, children=(*folders, *self.playlists))


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` atomically unless the file already holds exactly these bytes."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write_bytes(path.name, data, root=path.parent)
    return True
