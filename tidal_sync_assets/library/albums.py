"""What a track's tags need from its album: the album artist, the release date and the
front cover.

Each album is asked of TIDAL once, ever: what its document says is kept in the
``albums`` table and its cover's JPEG in the library's cover cache, so whichever
partition or download thread needs an album first asks, every other one (in this sync
and every later one) reads. Best effort: a file without an album artist or a cover is
still a good file; an album whose lookup failed is asked again by the next sync.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import tidalapi
from sqlalchemy import Engine

from tidal_sync_assets.database import album_store
from tidal_sync_assets.disk.covers import CoverCache
from tidal_sync_assets.library.errors import describe
from tidal_sync_assets.tidal.albums import fetch_album, fetch_cover
from tidal_sync_assets.tidal.snapshot import TidalAlbum, TidalTrack

log = logging.getLogger(__name__)


class AlbumLookup:
    """Albums and their covers for one run, from the database and the cover cache, each
    album asked of TIDAL at most once (and never again once it is kept)."""

    def __init__(self, engine: Engine, session: Callable[[], tidalapi.Session], root: Path) -> None:
        self._engine = engine
        self._session = session
        self._covers = CoverCache(root)
        self._lock = threading.Lock()
        self._known: dict[int, TidalAlbum] | None = None  # read from the database at first need
        # One lock per album: parallel downloads of one album make one request, not one each.
        self._album_locks: dict[int, threading.Lock] = {}
        # Failed this run: not asked again until the next sync.
        self._no_cover: set[int] = set()
        self._reachable = True  # False after a failed album request: TIDAL is not asked again
        self._given: set[int] = set()  # albums whose tracks' rows have their values this run

    def with_album(self, track: TidalTrack) -> TidalTrack:
        """``track`` with its album's artist and release date (best effort)."""
        album = self._album(track.album_id)
        if album is None:
            return track
        tagged = replace(
            track,
            album_artist=album.artist or track.album_artist,
            release_date=album.release_date or track.release_date,
        )
        if tagged != track:  # a track a snapshot added to a known album: its row learns them
            with self._lock:
                give = album.tidal_id not in self._given
                self._given.add(album.tidal_id)
            if give:
                album_store.give_tracks(self._engine, album)
        return tagged

    def cover(self, track: TidalTrack) -> bytes | None:
        """The album's front cover (a JPEG, 640 px where TIDAL has it)."""
        album = self._album(track.album_id)
        if album is None or album.cover is None:
            return None
        with self._album_lock(album.tidal_id):
            if album.tidal_id in self._no_cover:
                return None
            kept = self._covers.read(album.tidal_id)
            if kept is not None:
                return kept
            try:
                fetched = fetch_cover(self._session(), album.cover)
            except Exception as exc:  # tagging goes on without it; the next sync tries again
                log.warning("album %s: no cover (%s)", album.tidal_id, describe(exc))
                fetched = None
            if fetched is None:
                self._no_cover.add(album.tidal_id)
                return None
            self._covers.keep(album.tidal_id, fetched)
            return fetched

    def _album(self, album_id: int | None) -> TidalAlbum | None:
        """The album as kept, or as TIDAL says it now (then kept); None when unknown."""
        if album_id is None:
            return None
        with self._lock:
            if self._known is None:
                self._known = album_store.load_albums(self._engine)
            known = self._known
        with self._album_lock(album_id):
            if album_id in known or not self._reachable:
                return known.get(album_id)
            try:
                album = fetch_album(self._session(), album_id)
            except Exception as exc:  # tagging goes on without it; the next sync tries again
                log.warning("album %s: album artist unknown (%s)", album_id, describe(exc))
                self._reachable = False
                return None
            album_store.save_album(self._engine, album)
            with self._lock:
                self._given.add(album_id)
            known[album_id] = album
            return album

    def _album_lock(self, album: int) -> threading.Lock:
        with self._lock:
            return self._album_locks.setdefault(album, threading.Lock())
