"""Where a scanned symlink points: inside the root, outside it, or nowhere.

Most links the product makes are ``../<playlist>/<file>`` pointing at a file
the same scan already found, so they are resolved by looking the path up;
anything else (chains, absolute targets, folders, broken links) goes through
``os.path.realpath``, which never leaves a loop unreported.
"""

from __future__ import annotations

import errno
import os
import posixpath
from collections.abc import Set

from tidal_sync_assets.disk.entry import ScannedEntry

BROKEN = "broken link: target does not exist"
LOOP = "link loop"
OUTSIDE = "link points outside the library root"


class LinkResolver:
    """Resolves links of one scan; ``files`` holds the root-relative paths of its non-links."""

    def __init__(self, real_root: str, files: Set[str]) -> None:
        self._root = real_root
        self._files = files

    def resolve(self, link: ScannedEntry) -> ScannedEntry:
        """``link`` with ``link_resolves_to``, ``link_outside_root`` and ``error`` filled in."""
        return _resolved(link, *self.where(link.path, link.link_target))

    def where(self, path: str, target: str | None) -> tuple[str | None, bool, str | None]:
        """Where the link at ``path`` whose text is ``target`` ends up: the root-relative
        final target (None if there is none), whether it leaves the root, and the error."""
        found = self._lookup(path, target) if target is not None else None
        if found is not None:
            return found, False, None
        return self._realpath(path)

    def _lookup(self, path: str, target: str) -> str | None:
        """The target, if plain ``../`` steps then downward names reach a known file."""
        folder = path[: path.rfind("/")]
        while target.startswith("../"):
            cut = folder.rfind("/")
            if cut < 0:  # would climb to or above the root: let realpath decide
                return None
            folder, target = folder[:cut], target[3:]
        if target.startswith("/") or "//" in target or "/." in f"/{target}":
            return None
        candidate = f"{folder}/{target}"
        return candidate if candidate in self._files else None

    def _realpath(self, path: str) -> tuple[str | None, bool, str | None]:
        absolute = os.path.join(self._root, path)
        outside = not _within(os.path.realpath(absolute), self._root)
        try:
            final = os.path.realpath(absolute, strict=True)
        except OSError as exc:
            reason = LOOP if exc.errno == errno.ELOOP else BROKEN
            if exc.errno not in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR):
                reason = f"cannot resolve link: {exc.strerror}"
            return None, outside, reason
        if outside:
            return None, True, OUTSIDE
        relative = posixpath.relpath(final, self._root) if final != self._root else "."
        return relative, False, None


def _resolved(
    link: ScannedEntry, resolves_to: str | None, outside: bool, error: str | None
) -> ScannedEntry:
    """``link`` with these fields; the same object when nothing changed (a warm rescan)."""
    if (link.link_resolves_to, link.link_outside_root, link.error) == (resolves_to, outside, error):
        return link
    return ScannedEntry(
        link.path,
        link.kind,
        link.size,
        link.mtime_ns,
        link.inode,
        link.nlink,
        link.link_target,
        resolves_to,
        outside,
        link.tags,
        error,
    )


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
