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
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from tidal_sync_assets.disk.entry import (
    INTERNAL_PREFIX,
    EntryKind,
    ScannedEntry,
    ScanResult,
    is_audio,
)
from tidal_sync_assets.disk.link_resolution import LinkResolver
from tidal_sync_assets.disk.paths import LibraryRootMissing
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
        reader = TagReader(workers)
        changed_audio = _walk(real_root, previous, entries, reader)
        reread = _fill_tags(entries, changed_audio, reader)
        _resolve_links(real_root, entries)
    return ScanResult(entries, reread, [e for e in entries if e.error is not None])


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
    stack: list[tuple[str, str, bool]] = [(os.path.join(real_root, PLAYLISTS), PLAYLISTS, False)]
    while stack:
        folder, rel_folder, folder_undecodable = stack.pop()
        try:
            listing = os.scandir(folder)
        except OSError as exc:
            reason = f"cannot list folder: {exc.strerror}"
            append(_unreadable(rel_folder, folder_undecodable, reason))
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
                    st = item.stat(follow_symlinks=False)
                except OSError as exc:
                    append(_unreadable(rel, undecodable, f"cannot stat: {exc.strerror}"))
                    continue
                if undecodable:
                    append(_undecodable(rel, st, item.path))
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
                    audio = is_audio(name) and not name.startswith(INTERNAL_PREFIX)
                    if audio and st.st_size:
                        changed_audio.append(len(out))
                        reader.add(item.path)
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
                    append(_link(rel, st, item.path))
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
