"""The file extension a track's download is planned with, when nothing on disk gives one."""

from __future__ import annotations

_LOSSY = frozenset({"LOW", "HIGH"})


def planned_extension(quality: str) -> str:
    """TIDAL's lossy qualities come as AAC in MP4 (``.m4a``); the lossless ones as FLAC."""
    return ".m4a" if quality in _LOSSY else ".flac"
