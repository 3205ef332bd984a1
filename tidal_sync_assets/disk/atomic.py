"""Atomic writes and moves inside the library: nothing partial under a final name.

This module owns how a file comes to exist under its final name. A new file is
written under a temporary name in the same folder (prefix
:data:`~tidal_sync_assets.disk.paths.TEMP_PREFIX`, which the scanner skips),
flushed to disk, then renamed onto the final name; the folder is flushed too,
so the rename survives a power cut. A process killed mid-write leaves at most a
temporary file, which :func:`remove_stale_temp_files` clears on a later sync.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from tidal_sync_assets.disk.paths import TEMP_PREFIX, LibraryPaths, PathArg

#: Longest final-name suffix carried over to the temporary name; audio taggers
#: (mutagen) pick a format partly by extension, so ``.flac`` should stay ``.flac``.
_MAX_KEPT_SUFFIX = 16


class DestinationExists(FileExistsError):
    """A move would replace a different file that is already at the destination."""


def temp_path_for(final: Path) -> Path:
    """A fresh temporary name next to ``final`` (same folder, so same filesystem)."""
    suffix = final.suffix if len(final.suffix.encode()) <= _MAX_KEPT_SUFFIX else ""
    return final.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}{suffix}")


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries, so a rename or new name in it is durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_target(final_path: PathArg, *, root: Path) -> Iterator[Path]:
    """Yield a temporary path to write; it becomes ``final_path`` only on success.

    The block must create the file at the yielded path. When the block exits
    without an exception the file is fsync'ed and renamed onto the final name
    (replacing whatever was there); when it raises, the temporary file is
    removed and the final name is left untouched. Missing parent folders are
    created (never the root itself).
    """
    library = LibraryPaths(root)
    final = library.resolve(final_path)
    library.make_parents(final)
    temp = temp_path_for(final)
    try:
        yield temp
        if not temp.is_file() or temp.is_symlink():
            raise FileNotFoundError(f"the block wrote no regular file at {temp} for {final}")
        _fsync_file(temp)
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_folder(final.parent)


def atomic_write_bytes(path: PathArg, data: bytes, *, root: Path) -> Path:
    """Write ``data`` to ``path`` atomically; returns the absolute final path."""
    with atomic_target(path, root=root) as temp, temp.open("xb") as handle:
        handle.write(data)
    return LibraryPaths(root).resolve(path)


def atomic_move(src: PathArg, dst: PathArg, *, root: Path, overwrite: bool = False) -> Path:
    """Rename ``src`` to ``dst`` (a file or a folder) inside the library; returns ``dst``.

    Refuses with :class:`DestinationExists` when something other than ``src``
    itself is at ``dst``, unless ``overwrite`` (files only). ``dst`` being the
    same file as ``src`` is fine: a case-only rename on a case-insensitive
    drive, or — in hardlink mode — moving a primary onto one of its own links,
    which POSIX ``rename`` would silently leave undone, so the old name is
    unlinked here. Moves across filesystems are refused (``EXDEV``): a rename is
    the only move that cannot leave half a file behind.
    """
    library = LibraryPaths(root)
    source, target = library.resolve(src), library.resolve(dst)
    source_stat = source.lstat()
    same_file = False
    try:
        target_stat = target.lstat()
    except FileNotFoundError:
        pass
    else:
        same_file = os.path.samestat(source_stat, target_stat)
        if not same_file and not overwrite:
            raise DestinationExists(
                errno.EEXIST, f"will not replace {target} with {source}", str(target)
            )
    library.make_parents(target)
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno == errno.EXDEV:
            raise OSError(
                errno.EXDEV, f"{source} and {target} are on different filesystems; not moving"
            ) from error
        raise
    if same_file and source != target and _both_names_listed(source, target):
        source.unlink()
    fsync_folder(target.parent)
    if source.parent != target.parent:
        fsync_folder(source.parent)
    return target


def _both_names_listed(source: Path, target: Path) -> bool:
    """Whether ``source`` and ``target`` are two distinct directory entries.

    On a case-insensitive drive a case-only rename leaves one entry that answers
    to both names; only when both names are really listed is ``source`` a
    second link that may be unlinked without losing the file.
    """
    return source.name in os.listdir(source.parent) and target.name in os.listdir(target.parent)


def remove_stale_temp_files(root: Path, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete leftover temporary files (from killed writers) older than ``older_than``.

    Only names with the temporary prefix are touched; the age margin keeps a
    write that is still running elsewhere safe. Returns how many were removed.
    """
    library = LibraryPaths(root)
    library.require_root()
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for folder, _, filenames in os.walk(library.root):  # symlinked folders are not entered
        for name in filenames:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = Path(folder, name)
            with contextlib.suppress(FileNotFoundError):
                if path.lstat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
    return removed
