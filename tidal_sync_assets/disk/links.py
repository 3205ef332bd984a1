"""Links: the non-primary occurrences of a track, in the configured link mode.

This module owns making, checking and removing a link to a track's primary
file. The three modes:

- ``symlink``: a *relative* symlink (computed from the link's folder), so the
  library still works after the whole root is moved or the drive is mounted
  elsewhere. An absolute symlink counts as invalid and is re-made relative.
- ``hardlink``: a second name for the primary's inode; needs both on one
  filesystem (and a filesystem with hard links, which FAT/exFAT lack).
- ``copy``: an independent copy, made with the primary's mtime. A copy is valid
  when its size equals the primary's and its mtime is within
  :data:`COPY_MTIME_TOLERANCE_S`. Hashing every copy on every sync would read
  the whole library each time; a re-tag or re-download of the primary changes
  its mtime, which is what makes a copy stale. The tolerance is FAT's 2-second
  timestamp resolution (USB sticks). An edit that keeps both size and mtime is
  not noticed — a deliberate trade.

A link is replaced atomically (made under a temporary name, then renamed onto
the link's name). Only something whose removal loses no data is ever replaced
or removed: a symlink, or a file with more than one hard link. A copy is a real
file; an unwanted copy goes to the trash, not through :func:`remove_link`.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path
from typing import Literal

from tidal_sync_assets.disk.atomic import atomic_target, fsync_folder, temp_path_for
from tidal_sync_assets.disk.paths import LibraryPaths, PathArg

LinkMode = Literal["symlink", "hardlink", "copy"]

COPY_MTIME_TOLERANCE_S = 2.0


class WouldLoseData(OSError):
    """Removing or replacing this path would destroy the only copy of a file."""


class LinkNotSupported(OSError):
    """Hard links are impossible here (another filesystem, or FAT/exFAT)."""


def make_link(primary: PathArg, link: PathArg, mode: LinkMode, *, root: Path) -> None:
    """Make ``link`` an occurrence of ``primary`` in ``mode``; a valid link is left alone.

    Missing folders above ``link`` are created. An existing symlink or
    hard link at ``link`` is replaced atomically; a real file there is refused
    with :class:`WouldLoseData` (trash it first).
    """
    library = LibraryPaths(root)
    source, target = library.resolve(primary), library.resolve(link)
    if not stat.S_ISREG(source.lstat().st_mode):
        raise FileNotFoundError(errno.ENOENT, "the primary is not a regular file", str(source))
    if source == target:
        raise ValueError(f"a link cannot replace its own primary: {source}")
    if link_is_valid(source, target, mode, root=root):
        return
    _check_replaceable(target)
    if mode == "copy":
        with atomic_target(target, root=root) as temp:
            shutil.copy2(source, temp)
        return
    library.make_parents(target)
    temp = temp_path_for(target)
    if mode == "symlink":
        os.symlink(os.path.relpath(source, target.parent), temp)
    else:
        try:
            os.link(source, temp, follow_symlinks=False)
        except OSError as error:
            if error.errno in (errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                raise LinkNotSupported(
                    error.errno,
                    f"cannot hard-link {target} to {source} ({os.strerror(error.errno)}); "
                    "hardlink mode needs one filesystem that supports hard links — "
                    "use TIDAL_SYNC_LINK_MODE=symlink or copy",
                ) from error
            raise
    try:
        os.replace(temp, target)
    finally:
        # rename() onto another name of the same inode does nothing: drop the temp name.
        temp.unlink(missing_ok=True)
    fsync_folder(target.parent)


def link_is_valid(primary: PathArg, link: PathArg, mode: LinkMode, *, root: Path) -> bool:
    """Whether ``link`` is a valid ``mode`` occurrence of ``primary`` (see module docstring)."""
    library = LibraryPaths(root)
    source, target = library.resolve(primary), library.resolve(link)
    if source == target:
        return False
    try:
        source_stat, target_stat = source.lstat(), target.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(source_stat.st_mode):
        return False
    if mode == "symlink":
        return (
            stat.S_ISLNK(target_stat.st_mode)
            and not os.path.isabs(os.readlink(target))
            and os.path.realpath(target) == str(source)
        )
    if not stat.S_ISREG(target_stat.st_mode):
        return False
    same_inode = os.path.samestat(source_stat, target_stat)
    if mode == "hardlink":
        return same_inode
    return (
        not same_inode
        and target_stat.st_size == source_stat.st_size
        and abs(target_stat.st_mtime - source_stat.st_mtime) <= COPY_MTIME_TOLERANCE_S
    )


def remove_link(link: PathArg, *, root: Path) -> bool:
    """Remove a symlink or a hard link; returns False when nothing was there.

    A real file with a single link is refused with :class:`WouldLoseData`.
    """
    target = LibraryPaths(root).resolve(link)
    if not _check_replaceable(target):
        return False
    target.unlink()
    return True


def _check_replaceable(target: Path) -> bool:
    """Whether something is at ``target``; raises unless removing it loses no data."""
    try:
        target_stat = target.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(target_stat.st_mode):
        return True
    if stat.S_ISDIR(target_stat.st_mode):
        raise IsADirectoryError(errno.EISDIR, "a folder is not a link", str(target))
    if not stat.S_ISREG(target_stat.st_mode) or target_stat.st_nlink < 2:
        raise WouldLoseData(
            errno.EEXIST,
            "a real file (the only copy of its data) is here, not a link; trash it instead",
            str(target),
        )
    return True
