"""Album covers kept on disk: ``<root>/.tidal-sync/covers/<album id>.jpg``.

An album's front cover is fetched from TIDAL once; its JPEG is kept here, in the
library's own state folder, for every later file of that album. On disk rather than in
the database: a 640 px cover is tens of KB (2,500 albums: roughly a hundred MB), bytes
that only tagging a new file reads, and that would otherwise swell every copy and backup
of the product database and every PostgreSQL round trip; the database keeps the cover's
image id, so a lost cache costs one image request per album, never an album request.
"""

from __future__ import annotations

from pathlib import Path

from tidal_sync_assets.disk.atomic import atomic_write_bytes
from tidal_sync_assets.disk.paths import COVERS_DIR, LibraryPaths


class CoverCache:
    """The covers kept under one library root, by TIDAL album id."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def read(self, album: int) -> bytes | None:
        """The kept cover of ``album``; None when there is none."""
        try:
            return LibraryPaths(self._root).resolve(self._name(album)).read_bytes()
        except FileNotFoundError:
            return None

    def keep(self, album: int, jpeg: bytes) -> None:
        """Keep ``jpeg`` as the cover of ``album`` (written atomically)."""
        atomic_write_bytes(self._name(album), jpeg, root=self._root)

    @staticmethod
    def _name(album: int) -> str:
        return f"{COVERS_DIR}/{album}.jpg"
