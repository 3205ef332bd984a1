"""Downloading one primary: stream → temporary file → native container → tag → rename.

TIDAL's MP4 wrapping is remuxed into the codec's native container (:mod:`remux`); the
extension follows the delivered codec (judged from the bytes, not the asked quality or
the manifest). A file that cannot be remuxed or decoded, or that mutagen cannot open,
never reaches its final name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tidalapi

from tidal_sync_assets.disk.atomic import atomic_move, temp_path_for
from tidal_sync_assets.disk.entry import AudioTags
from tidal_sync_assets.disk.paths import LibraryPaths
from tidal_sync_assets.disk.remux import EncryptedStream, StoredAudio, to_native
from tidal_sync_assets.disk.tags import write_tags
from tidal_sync_assets.dj.keys import KeyNotation
from tidal_sync_assets.dj.tags import DjValues, dj_tags
from tidal_sync_assets.tidal.snapshot import TidalTrack
from tidal_sync_assets.tidal.stream import (
    DownloadFailed,
    TrackUnavailable,
    download_track,
    is_below,
)


class BelowMinimumQuality(DownloadFailed):
    """TIDAL delivered less than ``TIDAL_SYNC_MIN_QUALITY``; the file is not kept."""


def tags_for(track: TidalTrack, notation: KeyNotation = "classic") -> AudioTags:
    """The SPEC's tags for a file of ``track``, its key in ``notation``."""
    dj = dj_tags(DjValues.of(track), notation)
    return AudioTags(
        bpm=dj.bpm,
        key=dj.key,
        year=dj.year,
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


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A stored primary: where, its size as placed, how many bytes came over the wire,
    and what TIDAL delivered."""

    path: str
    size: int
    bytes_downloaded: int
    audio_quality: str
    audio: StoredAudio


def download_primary(
    session: tidalapi.Session,
    track: TidalTrack,
    quality: str,
    target: str,
    root: Path,
    min_quality: str | None = None,
    notation: KeyNotation = "classic",
    *,
    cover: bytes | None = None,
) -> Downloaded:
    """Download ``track`` to ``target``, its extension set by the delivered codec, tagged
    (key in ``notation``, ``cover`` as its front cover) once remuxed.

    Raises ``BelowMinimumQuality`` (nothing kept) when TIDAL delivers less than
    ``min_quality``.
    """
    library = LibraryPaths(root)
    planned = library.resolve(target)
    library.make_parents(planned)
    download = temp_path_for(planned)
    native = temp_path_for(planned)
    try:
        result = download_track(
            session, track.tidal_id, quality, download, allow_streaming=track.allow_streaming
        )
        if min_quality and is_below(result.audio_quality, min_quality):
            raise BelowMinimumQuality(
                f"TIDAL delivered {result.audio_quality} where at least {min_quality} "
                "is wanted (TIDAL_SYNC_MIN_QUALITY); the file was not kept"
            )
        try:
            audio = to_native(download, native)
        except EncryptedStream:
            raise TrackUnavailable(track.tidal_id, "its stream is encrypted") from None
        write_tags(native, tags_for(track, notation), cover)  # raises when mutagen cannot open it
        with native.open("rb+") as handle:
            os.fsync(handle.fileno())  # on disk before it gets its final name
        final = with_extension(target, audio.extension)
        # The size as placed (remuxed and tagged): a later scan that sees another size
        # knows the file changed on disk and decodes it again (``disk.integrity``).
        size = native.stat().st_size
        atomic_move(native, final, root=root, overwrite=True)
    finally:
        download.unlink(missing_ok=True)
        native.unlink(missing_ok=True)
    return Downloaded(final, size, result.bytes_written, result.audio_quality, audio)
