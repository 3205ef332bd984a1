"""Downloading one primary: stream → temporary file → check → tag → rename into place.

The extension follows the real codec (judged from the bytes, not the
manifest); a file that mutagen cannot open never reaches its final name.
"""

from __future__ import annotations

import os
from pathlib import Path

import tidalapi

from tidal_sync_assets.disk.atomic import atomic_move, temp_path_for
from tidal_sync_assets.disk.entry import AudioTags
from tidal_sync_assets.disk.paths import LibraryPaths
from tidal_sync_assets.disk.tags import detect_extension, write_tags
from tidal_sync_assets.tidal.snapshot import TidalTrack
from tidal_sync_assets.tidal.stream import download_track


def tags_for(track: TidalTrack) -> AudioTags:
    """The SPEC's tags for a file of ``track``."""
    return AudioTags(
        title=track.title,
        artist=track.artist,
        album=track.album,
        album_artist=track.album_artist,
        track_number=track.track_number,
        isrc=track.isrc,
        tidal_track_id=track.tidal_id,
    )


def with_extension(path: str, extension: str) -> str:
    stem, _ = os.path.splitext(path)
    return stem + extension


def download_primary(
    session: tidalapi.Session, track: TidalTrack, quality: str, target: str, root: Path
) -> tuple[str, int]:
    """Download ``track`` to ``target`` (its extension corrected); returns (path, its size)."""
    library = LibraryPaths(root)
    planned = library.resolve(target)
    library.make_parents(planned)
    temp = temp_path_for(planned)
    try:
        download_track(session, track.tidal_id, quality, temp)
        extension = detect_extension(temp)  # raises when mutagen cannot open it
        write_tags(temp, tags_for(track))
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())  # on disk before it gets its final name
        final = with_extension(target, extension)
        # The size as placed (tags included): a later scan that sees another size
        # knows the file changed on disk and decodes it again (``disk.integrity``).
        size = temp.stat().st_size
        atomic_move(temp, final, root=root, overwrite=True)
    finally:
        temp.unlink(missing_ok=True)
    return final, size
