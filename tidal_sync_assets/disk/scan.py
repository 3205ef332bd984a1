"""The file-system snapshot: every entry under ``<root>/Playlists``, never a crash.

The walk lstat's each entry once and never follows a link into a folder, so
it cannot leave the root. Audio tags are read only for files that are new or
changed since the previous scan, in parallel (``disk.tag_reading``). Where a
link points is worked out afterwards (``disk.link_resolution``). Whatever
goes wrong at one entry (unreadable, corrupt, undecodable name, broken link)
is recorded on that entry as ``error``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from tidal_sync_assets.disk.entry import (
    INTERNAL_PREFIX,
    EntryKind,
    ScannedEntry,
    ScanResult,
    ScanStat,
    is_audio,
)
from tidal_sync_assets.disk.link_resolution import LinkResolver
from tidal_sync_assets.disk.paths import LibraryRootMissing

if TYPE_CHECKING:
    from tidal_sync_assets.disk.tag_reading import TagReader

PLAYLISTS = "Playlists"
NOT_UTF8 = "name is not valid UTF-8"
EMPTY_AUDIO = "unreadable audio: empty file"

_NOTHING: Mapping[str, ScannedEntry] = MappingProxyType({})


def root_missing(root: Path) -> str:
    """What to tell the user when a library the database knows has no root."""
    return (
        f"The library root {root} does not exist (is the drive mounted?). Nothing was "
        "created or removed; mount it or set TIDAL_SYNC_LIBRARY_ROOT."
    )


def scan_library(
    root: Path,
    previous: Mapping[str, ScannedEntry] = _NOTHING,
    workers: int | None = None,
) -> ScanResult:
    """Snapshot ``<root>/Playlists``; ``previous`` (by path) spares re-reading unchanged tags."""
    if not os.path.isdir(root):
        raise LibraryRootMissing(root)
    real_root = os.path.realpath(root)
    entries: list[ScannedEntry] = []
    reread = 0
    playlists = os.path.join(real_root, PLAYLISTS)
    if os.path.islink(playlists):  # following it could leave the root
        entries.append(_unreadable(PLAYLISTS, False, "Playlists is a link: not followed"))
    elif os.path.lexists(playlists):
        # Imported here: a walk that only compares (``changed_since``) reads no tags.
        from tidal_sync_assets.disk.tag_reading import TagReader

        reader = TagReader(workers)
        changed_audio = _walk(real_root, previous, entries, reader)
        reread = _fill_tags(entries, changed_audio, reader)
        _resolve_links(real_root, entries)
    return ScanResult(entries, reread, [e for e in entries if e.error is not None])


_GIVE_UP_EVERY = 4096  # entries walked between two questions to ``give_up``


def changed_since(
    root: Path, stored: Mapping[str, ScanStat], give_up: Callable[[], bool] | None = None
) -> str | None:
    """The first path under ``<root>/Playlists`` a scan would record otherwise than
    ``stored`` (the latest scan's stats, by path), or that ``stored`` holds and the disk
    no longer does; None when the disk is as stored. Reads no tags and builds no entries:
    it compares what the walk sees (kind, size, mtime, inode, link count; where each link
    ends up) with the stored rows, in about the time of the walk itself.

    ``give_up`` is asked every few thousand entries: once it says so (the answer no longer
    matters), the walk ends and says ``Playlists`` changed, which is never wrong to say."""
    real_root = os.path.realpath(root)
    playlists = os.path.join(real_root, PLAYLISTS)
    if not os.path.isdir(root) or os.path.islink(playlists) or not os.path.isdir(playlists):
        return PLAYLISTS
    is_reg, is_lnk = stat.S_ISREG, stat.S_ISLNK
    file_kind, link_kind, other_kind = EntryKind.FILE, EntryKind.SYMLINK, EntryKind.OTHER
    get_stored = stored.get
    files: set[str] = set()
    links: list[tuple[str, ScanStat]] = []
    seen = 0
    for rel, _, st, undecodable in _found(real_root):
        seen += 1
        if give_up is not None and not seen % _GIVE_UP_EVERY and give_up():
            return PLAYLISTS
        if isinstance(st, str):  # unreadable: the same reason as last time
            entry = _unreadable(rel, undecodable, st)
            before = get_stored(entry.path)
            if before is None or (before[0], before[8]) != (entry.kind, entry.error):
                return entry.path
            continue
        path = _printable(rel) if undecodable else rel
        mode = st.st_mode
        kind = file_kind if is_reg(mode) else link_kind if is_lnk(mode) else other_kind
        before = get_stored(path)
        # Field by field: no tuple to build for each of 150,000 entries.
        if (
            before is None
            or before[2] != st.st_mtime_ns
            or before[1] != st.st_size
            or before[3] != st.st_ino
            or before[4] != st.st_nlink
            or before[0] != kind
        ):
            return path
        if kind is not link_kind:
            files.add(path)
        elif not undecodable:  # a link's text never changes in place; where it ends may
            links.append((path, before))
    if seen != len(stored):
        walked = {_printable(rel) for rel, *_ in _found(real_root)}
        return next(iter(stored.keys() - walked), PLAYLISTS)
    where = LinkResolver(real_root, files).where
    for path, before in links:
        if where(path, before[5]) != before[6:9]:
            return path
    return None


Found = tuple[str, str, os.stat_result | str, bool]


def _found(real_root: str) -> Iterator[Found]:
    """Every non-folder entry under ``Playlists`` (links are never followed), in no
    particular order: its root-relative path, its absolute path, its lstat (or why it
    could not be had: a folder that cannot be listed is one such entry), and whether its
    name (or a folder's above it) is not valid UTF-8."""
    stack: list[tuple[str, str, bool]] = [(os.path.join(real_root, PLAYLISTS), PLAYLISTS, False)]
    while stack:
        folder, rel_folder, folder_undecodable = stack.pop()
        try:
            listing = os.scandir(folder)
        except OSError as exc:
            yield rel_folder, folder, f"cannot list folder: {exc.strerror}", folder_undecodable
            continue
        with listing:
            for item in listing:
                name = item.name
                undecodable = folder_undecodable or not _decodable(name)
                rel = f"{rel_folder}/{name}"
                if item.is_dir(follow_symlinks=False):
                    stack.append((item.path, rel, undecodable))
                    continue
                try:
                    st: os.stat_result | str = item.stat(follow_symlinks=False)
                except OSError as exc:
                    st = f"cannot stat: {exc.strerror}"
                yield rel, item.path, st, undecodable


def _walk(
    real_root: str, previous: Mapping[str, ScannedEntry], out: list[ScannedEntry], reader: TagReader
) -> list[int]:
    """Append one entry per non-folder path (in no particular order) to ``out``.

    Audio files that are new or changed (and not empty) go to ``reader``;
    returns their indices in ``out``, in the same order.
    """
    changed_audio: list[int] = []
    file_kind, link_kind = EntryKind.FILE, EntryKind.SYMLINK
    is_reg, is_lnk = stat.S_ISREG, stat.S_ISLNK
    get_previous = previous.get
    append = out.append
    for rel, path, st, undecodable in _found(real_root):
        if isinstance(st, str):
            append(_unreadable(rel, undecodable, st))
            continue
        if undecodable:
            append(_undecodable(rel, st, path))
            continue
        mode = st.st_mode
        before = get_previous(rel)
        if (
            before is not None
            and before.inode == st.st_ino
            and before.mtime_ns == st.st_mtime_ns
            and before.size == st.st_size
            and before.kind is (file_kind if is_reg(mode) else link_kind)
        ):
            # Unchanged: reuse tags (files) or readlink text (links never change in place).
            if before.nlink != st.st_nlink:
                before = replace(before, nlink=st.st_nlink)
            append(before)
        elif is_reg(mode):
            name = rel.rpartition("/")[2]
            audio = is_audio(name) and not name.startswith(INTERNAL_PREFIX)
            if audio and st.st_size:
                changed_audio.append(len(out))
                reader.add(path)
            append(
                ScannedEntry(
                    rel,
                    file_kind,
                    st.st_size,
                    st.st_mtime_ns,
                    st.st_ino,
                    st.st_nlink,
                    error=EMPTY_AUDIO if audio and not st.st_size else None,
                )
            )
        elif is_lnk(mode):
            append(_link(rel, st, path))
        else:
            append(
                ScannedEntry(
                    rel, EntryKind.OTHER, st.st_size, st.st_mtime_ns, st.st_ino, st.st_nlink
                )
            )
    return changed_audio


def _fill_tags(entries: list[ScannedEntry], indices: list[int], reader: TagReader) -> int:
    """Put the tags (or the error) ``reader`` read into ``entries[indices]``."""
    for index, result in zip(indices, reader.results(), strict=True):
        entry = entries[index]
        error = f"unreadable audio: {result}" if isinstance(result, str) else None
        tags = None if isinstance(result, str) else result
        entries[index] = ScannedEntry(
            entry.path,
            entry.kind,
            entry.size,
            entry.mtime_ns,
            entry.inode,
            entry.nlink,
            tags=tags,
            error=error,
        )
    return len(indices)


def _resolve_links(real_root: str, entries: list[ScannedEntry]) -> None:
    """Where each link points, worked out again on every scan (targets come and go)."""
    resolver = LinkResolver(
        real_root,
        {e.path for e in entries if e.kind is EntryKind.FILE or e.kind is EntryKind.OTHER},
    )
    for index, entry in enumerate(entries):
        if entry.kind is EntryKind.SYMLINK and entry.error != NOT_UTF8:
            entries[index] = resolver.resolve(entry)


def _link(rel: str, st: os.stat_result, path: str) -> ScannedEntry:
    try:
        target = os.readlink(path)
    except OSError as exc:
        return _unreadable(rel, False, f"cannot read link: {exc.strerror}")
    return ScannedEntry(
        rel,
        EntryKind.SYMLINK,
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
        st.st_nlink,
        link_target=_printable(target),
    )


def _undecodable(rel: str, st: os.stat_result, path: str) -> ScannedEntry:
    """Recorded for the user to see, never read or acted on."""
    if stat.S_ISLNK(st.st_mode):
        kind = EntryKind.SYMLINK
        try:
            target: str | None = _printable(os.readlink(path))
        except OSError:
            target = None
    else:
        kind = EntryKind.FILE if stat.S_ISREG(st.st_mode) else EntryKind.OTHER
        target = None
    return ScannedEntry(
        _printable(rel),
        kind,
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
        st.st_nlink,
        link_target=target,
        error=NOT_UTF8,
    )


def _unreadable(rel: str, undecodable: bool, reason: str) -> ScannedEntry:
    return ScannedEntry(
        _printable(rel),
        EntryKind.UNREADABLE,
        error=f"{NOT_UTF8}; {reason}" if undecodable else reason,
    )


def _decodable(name: str) -> bool:
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.fsdecode kept the raw bytes as lone surrogates
        return False
    return True


def _printable(text: str) -> str:
    """Undecodable bytes as ``\\xNN`` escapes, so the text is valid UTF-8."""
    return text if _decodable(text) else os.fsencode(text).decode("utf-8", "backslashreplace")
