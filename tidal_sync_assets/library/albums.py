"""What a track's tags need from its album: the album artist and the front cover.

Both are asked of TIDAL once per album, whichever partition or download thread
needs them first, and only on a best-effort basis: a file without an album
artist or a cover is still a good file, and the next sync asks again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

import tidalapi
from sqlalchemy import Engine

from tidal_sync_assets.database import action_store as store
from tidal_sync_assets.library.errors import describe
from tidal_sync_assets.tidal.snapshot import TidalTrack

log = logging.getLogger(__name__)
COVER_SIZE = 640  # px: TIDAL's sizes are 80, 160, 320, 640, 1280
JPEG_START = b"\xff\xd8"


class AlbumLookup:
    """Album artists and covers for one run, each album asked of TIDAL at most once."""

    def __init__(self, engine: Engine, session: Callable[[], tidalapi.Session]) -> None:
        self._engine = engine
        self._session = session
        self._artists: dict[int, str | None] = {}
        self._reachable = True
        self._covers: dict[int, bytes | None] = {}
        self._cover_lock = threading.Lock()
        self._albums: dict[int, tidalapi.Album] = {}
        self._album_lock = threading.Lock()

    def with_album_artist(self, track: TidalTrack) -> TidalTrack:
        """``track`` with its album artist, looked up once per album (best effort)."""
        if track.album_artist or track.album_id is None:
            return track
        album = track.album_id
        if album not in self._artists and self._reachable:
            try:
                artist = self._album(album).artist
                self._artists[album] = artist.name if artist else None
            except Exception as exc:  # tagging goes on without it; the next sync tries again
                log.warning("album %s: album artist unknown (%s)", album, describe(exc))
                self._reachable = False
        name = self._artists.get(album)
        if name:
            store.set_album_artist(self._engine, album, name)
        return replace(track, album_artist=name) if name else track

    def cover(self, track: TidalTrack) -> bytes | None:
        """The album's front cover (a JPEG, at least 640 px where TIDAL has it)."""
        album = track.album_id
        if album is None:
            return None
        with self._cover_lock:  # one request per album, even with parallel downloads
            if album not in self._covers:
                self._covers[album] = self._fetch_cover(album)
            return self._covers[album]

    def _fetch_cover(self, album: int) -> bytes | None:
        try:
            found = self._album(album)
            if not found.cover:
                return None
            response = self._session().request_session.get(found.image(COVER_SIZE))
            response.raise_for_status()
            return response.content if response.content.startswith(JPEG_START) else None
        except Exception as exc:
            log.warning("album %s: no cover (%s)", album, describe(exc))
            return None

    def _album(self, album: int) -> tidalapi.Album:
        with self._album_lock:
            if album not in self._albums:
                self._albums[album] = self._session().album(str(album))
            return self._albums[album]
