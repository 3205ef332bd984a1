"""Is the library consistent? Database and disk compared, path by path.

Checks what the product placed: every primary is a real file, every link
exists and leads to its track's primary (symlink: resolves to it; hardlink:
same inode; copy: same size), no track has two primaries, and no primary is
the file the latest scan found damaged (until it is downloaded again). Read-only.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from tidal_sync_assets.database.action_store import load_placed_files
from tidal_sync_assets.database.scan_store import load_damage_stats
from tidal_sync_assets.settings import LinkMode


@dataclass
class Consistency:
    primaries: int = 0
    links: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_library(engine: Engine, root: Path, link_mode: LinkMode) -> Consistency:
    primaries, links = load_placed_files(engine)
    damaged = load_damage_stats(engine)
    result = Consistency(primaries=len(primaries), links=len(links))
    for path, count in Counter(primaries.values()).items():
        if count > 1:
            result.problems.append((str(path), f"primary of {count} tracks"))
    stats: dict[int, os.stat_result] = {}
    for track, path in primaries.items():
        absolute = root / str(path)
        if absolute.is_symlink() or not absolute.is_file():
            result.problems.append((str(path), "primary missing or not a real file"))
        else:
            stats[track] = absolute.stat()
            problem = _damage(damaged.get(str(path)), stats[track])
            if problem:
                result.problems.append((str(path), problem))
    for track, path in links:
        problem = _link_problem(root / str(path), stats.get(track), link_mode)
        if problem:
            result.problems.append((str(path), problem))
    return result


def _damage(scanned: tuple[int, int, int, str | None] | None, now: os.stat_result) -> str | None:
    """The scan's damage verdict, while the file is still the one the scan decoded."""
    if scanned is None:
        return None
    inode, size, mtime, why = scanned
    if (now.st_ino, now.st_size, now.st_mtime_ns) != (inode, size, mtime):
        return None  # replaced since (downloaded again): the next scan decodes it
    return f"damaged audio: {why}"


def _link_problem(link: Path, primary: os.stat_result | None, mode: LinkMode) -> str | None:
    if primary is None:
        return "links to a track without a primary"
    if not os.path.lexists(link):
        return "link missing"
    if mode == "symlink" and not link.is_symlink():
        return "not a symlink"
    try:
        target = link.stat()
    except OSError:
        return "broken link"
    same = os.path.samestat(target, primary)
    if mode == "copy":
        return None if target.st_size == primary.st_size and not same else "copy differs"
    return None if same else "does not lead to the primary"
