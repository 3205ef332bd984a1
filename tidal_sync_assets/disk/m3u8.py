"""Playlist files: one M3U8 per playlist, in TIDAL order.

This module owns the M3U8's place and content.

Place: ``<root>/Playlists/<playlist folder>/<playlist folder>.m3u8`` — inside
the playlist's own folder and named after it. DJ software (Rekordbox, Engine
DJ, Serato, Traktor) names an imported playlist after the file, and because
each entry is then a bare file name relative to the M3U8's folder, the folder
is self-contained: copied to a USB stick or another computer, the playlist
still resolves. If ``<folder>.m3u8`` would exceed 255 bytes, the name before
``.m3u8`` is shortened at a character boundary (see ``disk.naming.m3u8_path_for``,
where the planner reads it).

Content: UTF-8 without BOM, ``\\n`` line ends, ``#EXTM3U`` then per track
``#EXTINF:<seconds>,<Artist> - <Title>`` (``-1`` when the duration is unknown)
and its path relative to the M3U8's folder. A path that starts with ``#``
gets a ``./`` prefix so no reader takes it for a comment. A file is rewritten
only when its content changes, so its mtime says when the playlist last
changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tidal_sync_assets.disk.atomic import atomic_write_bytes
from tidal_sync_assets.disk.paths import LibraryPaths, PathArg

_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


@dataclass(frozen=True, slots=True)
class M3UEntry:
    """One track of a playlist; ``path`` is POSIX and relative to the library root."""

    path: str
    artist: str
    title: str
    duration: float | None = None  # seconds


def render_m3u8(entries: Sequence[M3UEntry], m3u8_path: str) -> str:
    """The M3U8 text for ``entries`` (in order), written at root-relative ``m3u8_path``."""
    folder = PurePosixPath(m3u8_path).parent.parts
    lines = ["#EXTM3U"]
    for entry in entries:
        seconds = -1 if entry.duration is None else round(entry.duration)
        label = " - ".join(
            part for part in (_one_line(entry.artist), _one_line(entry.title)) if part
        )
        lines.append(f"#EXTINF:{seconds},{label}")
        lines.append(_location(entry.path, folder))
    return "\n".join(lines) + "\n"


def write_m3u8(path: PathArg, text: str, *, root: Path) -> bool:
    """Write ``text`` to ``path`` atomically unless it already holds exactly that.

    Returns whether it wrote; an unchanged file keeps its mtime.
    """
    data = text.encode()
    try:
        if LibraryPaths(root).resolve(path).read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write_bytes(path, data, root=root)
    return True


def _one_line(text: str) -> str:
    return _LINE_BREAKING.sub(" ", text).strip()


def _location(path: str, folder: tuple[str, ...]) -> str:
    """``path`` relative to ``folder`` (its parts), both root-relative (``..`` where they part).

    Plain ``a/b/c`` paths are split as they are (``PurePosixPath`` per entry cost more
    than the rest of the M3U8); anything else is normalized by ``PurePosixPath`` first.
    """
    if _LINE_BREAKING.search(path):
        raise ValueError(f"a path with a control character cannot go into an M3U8: {path!r}")
    parts = path.split("/")
    if "" in parts or "." in parts:
        parts = list(PurePosixPath(path).parts)
    common = 0
    for ours, theirs in zip(parts, folder, strict=False):
        if ours != theirs:
            break
        common += 1
    location = "/".join([".."] * (len(folder) - common) + parts[common:])
    return f"./{location}" if location.startswith("#") else location
