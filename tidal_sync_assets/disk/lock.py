"""Locks on the library: one sync at a time, and one writer per key (a track's primary).

This module owns the lock files under ``<root>/.tidal-sync``:

- ``sync.lock`` — :func:`library_lock`, held for a whole sync. While held,
  ``sync.lock.holder.json`` says who holds it (pid, host, since), so a second
  sync can say *who* is in the way rather than just wait.
- ``locks/<key>.lock`` — :func:`key_lock`: one writer per named thing (the
  folders, the trash manifest), across threads and processes alike.
- ``locks/tracks-NN.lock`` — :func:`track_lock`: "whoever needs the primary
  first downloads it". Tracks share a fixed pool of :data:`TRACK_LOCK_STRIPES`
  files, chosen by track id, so a library of 50,000 tracks holds 64 lock files,
  not 50,000; two tracks of one stripe only wait for each other.

The locks are ``flock`` locks (via ``filelock``): the kernel releases them when
their holder dies, so a crash never leaves the library locked. Lock files are
left in place after release (unlinking a lock file others wait on breaks
mutual exclusion). The library root is never created here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock

from tidal_sync_assets.disk.atomic import atomic_write_bytes
from tidal_sync_assets.disk.paths import INTERNAL_DIR, LOCKS_DIR, LibraryPaths

SYNC_LOCK = f"{INTERNAL_DIR}/sync.lock"
SYNC_LOCK_HOLDER = f"{INTERNAL_DIR}/sync.lock.holder.json"

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")

# Enough stripes that the download pool's few workers rarely share one (4 workers:
# a given download waits for an unrelated one about 5% of the time), few enough that
# the lock folder stays small. Today the library lock already keeps every other
# process out while tracks are written, so in-process locks would do; file locks keep
# the promise "across threads and processes" without leaning on every caller holding
# the library lock, at the price of 64 small files.
TRACK_LOCK_STRIPES = 64
# The per-track lock files of earlier versions (one per track ever synced).
_PER_TRACK_LOCK = re.compile(r"track-[0-9]+\.lock")


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds the library lock, as recorded by the holder."""

    pid: int
    host: str
    since: datetime


class LibraryBusy(TimeoutError):
    """Another sync holds the library lock."""

    def __init__(self, root: Path, holder: LockHolder | None) -> None:
        who = (
            f" (pid {holder.pid} on {holder.host}, since {holder.since:%Y-%m-%d %H:%M:%S} UTC)"
            if holder
            else ""
        )
        super().__init__(
            f"another sync holds the library at {root}{who}; wait for it to finish and try again"
        )
        self.root = root
        self.holder = holder


# The library lock is re-entrant within one process: `tidal-sync sync` holds it
# around the whole run and the library asset, running in that process, asks
# again. Another process (or a second run in a fresh process) still waits.
_held: dict[str, tuple[LockHolder, int]] = {}
_held_guard = threading.Lock()
# Each key lock's file -> the lock its threads in this process queue on (see key_lock).
_in_process: dict[str, threading.Lock] = {}


class KeyBusy(TimeoutError):
    """A per-key lock stayed held by someone else for the whole timeout."""


@contextlib.contextmanager
def library_lock(root: Path, timeout: float) -> Iterator[LockHolder]:
    """Hold the library's sync lock for the block; yields the holder record written.

    Waits up to ``timeout`` seconds (``0``: try once; negative: wait forever),
    then raises :class:`LibraryBusy`. Raises
    :class:`~tidal_sync_assets.disk.paths.LibraryRootMissing` if the root is
    not an existing folder.
    """
    library = LibraryPaths(root)
    key = str(library.root)
    with _held_guard:
        held = _held.get(key)
        if held is not None:  # this process holds it already (the CLI around a run)
            _held[key] = (held[0], held[1] + 1)
    if held is not None:
        try:
            yield held[0]
        finally:
            with _held_guard:
                _held[key] = (held[0], _held[key][1] - 1)
        return
    lock = _file_lock(library, SYNC_LOCK, timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LibraryBusy(library.root, read_lock_holder(root)) from None
    try:
        holder = LockHolder(pid=os.getpid(), host=socket.gethostname(), since=datetime.now(UTC))
        with _held_guard:
            _held[key] = (holder, 1)
        record = {"pid": holder.pid, "host": holder.host, "since": holder.since.isoformat()}
        atomic_write_bytes(SYNC_LOCK_HOLDER, json.dumps(record).encode(), root=library.root)
        _remove_per_track_lock_files(library)
        try:
            yield holder
        finally:
            with _held_guard:
                _held.pop(key, None)
            library.resolve(SYNC_LOCK_HOLDER).unlink(missing_ok=True)
    finally:
        lock.release()


def read_lock_holder(root: Path) -> LockHolder | None:
    """The recorded holder of the library lock, if any (may be stale when nobody holds it)."""
    try:
        record = json.loads(LibraryPaths(root).resolve(SYNC_LOCK_HOLDER).read_bytes())
        return LockHolder(
            pid=int(record["pid"]),
            host=str(record["host"]),
            since=datetime.fromisoformat(record["since"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def key_lock(root: Path, key: str, timeout: float = -1) -> Iterator[None]:
    """Hold the lock named ``key`` (letters, digits, ``._-``) for the block.

    Each call takes its own lock, so two threads of one process exclude each
    other just as two processes do; a thread that already holds a key and asks
    for it again waits for itself. Raises :class:`KeyBusy` after ``timeout``
    seconds (negative: wait forever).
    """
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a lock key: {key!r}")
    lock = _file_lock(LibraryPaths(root), f"{LOCKS_DIR}/{key}.lock", timeout)
    # Threads of this process queue on a lock of their own first: the file lock is
    # polled (a waiter notices a release up to 50 ms late), a thread lock wakes at once.
    with _held_guard:
        local = _in_process.setdefault(str(lock.lock_file), threading.Lock())
    if not local.acquire(timeout=timeout if timeout >= 0 else -1):
        raise KeyBusy(f"lock {key!r} in {root} is held elsewhere")
    try:
        try:
            lock.acquire()
        except filelock.Timeout:
            raise KeyBusy(f"lock {key!r} in {root} is held elsewhere") from None
        try:
            yield
        finally:
            lock.release()
    finally:
        local.release()


def track_lock(
    root: Path, track_id: int, timeout: float = -1
) -> contextlib.AbstractContextManager[None]:
    """The lock on one track's primary: held while it is downloaded, adopted or moved.

    The lock is its stripe's (see :data:`TRACK_LOCK_STRIPES`): hold one track lock at
    a time, since a second track of the same stripe would wait for the first.
    """
    return key_lock(root, f"tracks-{int(track_id) % TRACK_LOCK_STRIPES:02d}", timeout)


def _remove_per_track_lock_files(library: LibraryPaths) -> None:
    # Safe only under the sync lock: every writer that ever used these files (any
    # version of tidal-sync) took the sync lock first, so nobody holds or waits on one.
    try:
        names = os.listdir(library.resolve(LOCKS_DIR))
    except FileNotFoundError:
        return
    for name in names:
        if _PER_TRACK_LOCK.fullmatch(name):
            library.resolve(f"{LOCKS_DIR}/{name}").unlink(missing_ok=True)


def _file_lock(library: LibraryPaths, relative: str, timeout: float) -> filelock.FileLock:
    path = library.resolve(relative)
    library.make_parents(path)
    return filelock.FileLock(path, timeout=timeout, thread_local=False)
