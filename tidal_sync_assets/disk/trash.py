"""The trash: nothing the product removes is deleted outright.

This module owns ``<root>/.tidal-sync/trash/``. :meth:`Trash.put` moves a file
(or a symlink) to ``trash/<batch>/<its root-relative path>`` — by rename, so a
trashed file is never half-copied — and appends one JSON line to
``trash/manifest.jsonl``: id, batch, original path, trash path, size, time,
reason, track id, playlist. A file trashed twice in one batch goes to
``<batch>~2/…`` and so on, so names are never mangled. :meth:`Trash.restore`
puts files back; :meth:`Trash.empty` is the only real deletion.

Restore never overwrites: when something is already at the original path (a
sync may have downloaded the track again), that entry is *not* restored — it
stays in the trash and in the manifest and is reported as a conflict, for the
user to move aside and retry. Restoring next to it under another name would
put an unmanaged duplicate into a playlist folder for the next sync to adopt.

Folders never go to the trash: :func:`remove_empty_folder` removes a folder
only when it is already empty.

The manifest is appended with one ``write`` plus ``fsync`` and rewritten
atomically; every manifest change holds the ``trash-manifest`` key lock, so
playlists synced in parallel processes can trash at the same time. A file is
moved before its line is written: a crash in between leaves the file in the
trash without a line — unlisted, but not lost.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tidal_sync_assets.disk.atomic import atomic_move, atomic_write_bytes
from tidal_sync_assets.disk.lock import key_lock
from tidal_sync_assets.disk.paths import INTERNAL_DIR, TRASH_DIR, LibraryPaths, PathArg

MANIFEST = f"{TRASH_DIR}/manifest.jsonl"
#: Pass to :meth:`Trash.restore` to restore every entry.
ALL = "all"

_MANIFEST_LOCK_KEY = "trash-manifest"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrashEntry:
    """One trashed file. Paths are POSIX, relative to the library root."""

    id: str
    batch: str
    original_path: str
    trash_path: str
    size: int
    trashed_at: datetime
    reason: str
    track_id: int | None = None
    playlist: str | None = None

    def to_json(self) -> str:
        # ASCII escapes keep names that are not valid UTF-8 (surrogate escapes) intact.
        record: dict[str, Any] = {
            "id": self.id,
            "batch": self.batch,
            "original_path": self.original_path,
            "trash_path": self.trash_path,
            "size": self.size,
            "trashed_at": self.trashed_at.isoformat(),
            "reason": self.reason,
            "track_id": self.track_id,
            "playlist": self.playlist,
        }
        return json.dumps(record, ensure_ascii=True)

    @classmethod
    def from_json(cls, line: str) -> TrashEntry:
        record = json.loads(line)
        return cls(
            id=str(record["id"]),
            batch=str(record["batch"]),
            original_path=str(record["original_path"]),
            trash_path=str(record["trash_path"]),
            size=int(record["size"]),
            trashed_at=datetime.fromisoformat(record["trashed_at"]),
            reason=str(record["reason"]),
            track_id=None if record.get("track_id") is None else int(record["track_id"]),
            playlist=record.get("playlist"),
        )


@dataclass(slots=True)
class RestoreOutcome:
    """What :meth:`Trash.restore` did, entry by entry."""

    restored: list[TrashEntry] = field(default_factory=list)
    #: Something already is at the original path; the entry stays in the trash.
    conflicts: list[TrashEntry] = field(default_factory=list)
    #: The trashed file is gone (removed by hand); the entry was dropped.
    missing: list[TrashEntry] = field(default_factory=list)


class Trash:
    """The library's trash; one instance is one batch (by default, a timestamp)."""

    def __init__(self, root: Path, batch: str | None = None) -> None:
        self._library = LibraryPaths(root)
        now = datetime.now(UTC)
        self.batch = batch or f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
        if "/" in self.batch or "~" in self.batch or self.batch in {".", "..", ALL}:
            raise ValueError(f"not a batch name: {self.batch!r}")

    @property
    def root(self) -> Path:
        return self._library.root

    def put(
        self,
        path: PathArg,
        reason: str,
        track_id: int | None = None,
        playlist: str | None = None,
    ) -> TrashEntry:
        """Move a file or symlink into the trash and record it; returns its entry."""
        source = self._library.resolve(path)
        original = source.relative_to(self.root).as_posix()
        if original == INTERNAL_DIR or original.startswith(f"{INTERNAL_DIR}/"):
            raise ValueError(f"the product's own files are not trashed: {original}")
        source_stat = source.lstat()
        if stat.S_ISDIR(source_stat.st_mode):
            raise IsADirectoryError(errno.EISDIR, "folders are not trashed", str(source))
        with self._manifest_lock():
            trash_path = self._free_trash_path(original)
            atomic_move(source, trash_path, root=self.root)
            entry = TrashEntry(
                id=secrets.token_hex(6),
                batch=self.batch,
                original_path=original,
                trash_path=trash_path,
                size=source_stat.st_size,
                trashed_at=datetime.now(UTC),
                reason=reason,
                track_id=track_id,
                playlist=playlist,
            )
            self._append(entry)
        return entry

    def list(self) -> list[TrashEntry]:
        """Every entry in the manifest, oldest first."""
        with self._manifest_lock():
            return self._read()

    def restore(self, which: str) -> RestoreOutcome:
        """Put back one entry (by id), one batch (by batch id), or :data:`ALL`.

        Parent folders are recreated. Raises ``KeyError`` when an id or batch matches
        nothing; :data:`ALL` of an empty trash restores nothing.
        """
        with self._manifest_lock():
            entries = self._read()
            chosen = [e for e in entries if which in (ALL, e.id, e.batch)]
            if not chosen:
                if which == ALL:
                    return RestoreOutcome()
                raise KeyError(f"no trash entry or batch {which!r}")
            # Resolve every path first: a tampered manifest is refused before anything moves.
            places = {
                e.id: (self._library.resolve(e.trash_path), self._library.resolve(e.original_path))
                for e in chosen
            }
            outcome = RestoreOutcome()
            for entry in chosen:
                trashed, original = places[entry.id]
                if not os.path.lexists(trashed):
                    outcome.missing.append(entry)
                    continue
                try:
                    atomic_move(trashed, original, root=self.root)
                except (FileExistsError, NotADirectoryError):  # incl. DestinationExists
                    outcome.conflicts.append(entry)
                    continue
                outcome.restored.append(entry)
                self._prune_empty_folders(trashed.parent)
            gone = {e.id for e in outcome.restored + outcome.missing}
            self._rewrite([e for e in entries if e.id not in gone])
        return outcome

    def empty(self, older_than: timedelta | None = None) -> int:
        """Delete trashed files for good (only those older than ``older_than``, if given).

        Returns how many entries were removed from the trash.
        """
        cutoff = None if older_than is None else datetime.now(UTC) - older_than
        with self._manifest_lock():
            entries = self._read()
            doomed = [e for e in entries if cutoff is None or e.trashed_at <= cutoff]
            for entry in doomed:
                trashed = self._library.resolve(entry.trash_path)
                trashed.unlink(missing_ok=True)
                self._prune_empty_folders(trashed.parent)
            doomed_ids = {e.id for e in doomed}
            self._rewrite([e for e in entries if e.id not in doomed_ids])
        return len(doomed)

    def _manifest_lock(self) -> contextlib.AbstractContextManager[None]:
        return key_lock(self.root, _MANIFEST_LOCK_KEY)

    def _free_trash_path(self, original: str) -> str:
        """``trash/<batch>/<original>``, or ``<batch>~N`` when that name is taken."""
        attempt = 1
        while True:
            folder = self.batch if attempt == 1 else f"{self.batch}~{attempt}"
            candidate = f"{TRASH_DIR}/{folder}/{original}"
            if not os.path.lexists(self._library.resolve(candidate)):
                return candidate
            attempt += 1

    def _prune_empty_folders(self, folder: Path) -> None:
        """Remove now-empty folders from ``folder`` up to (not including) the trash folder."""
        trash = self._library.trash
        while folder != trash and folder.is_relative_to(trash):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _read(self) -> builtins.list[TrashEntry]:
        try:
            data = self._library.resolve(MANIFEST).read_bytes()
        except FileNotFoundError:
            return []
        entries = []
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append(TrashEntry.from_json(line))
            except (ValueError, KeyError, TypeError):
                log.warning("skipping unreadable line %d of the trash manifest", number)
        return entries

    def _append(self, entry: TrashEntry) -> None:
        path = self._library.resolve(MANIFEST)
        line = (entry.to_json() + "\n").encode()
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a torn last line (crash mid-write) stays on its own line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _rewrite(self, entries: builtins.list[TrashEntry]) -> None:
        data = "".join(entry.to_json() + "\n" for entry in entries).encode()
        atomic_write_bytes(MANIFEST, data, root=self.root)


def remove_empty_folder(folder: PathArg, *, root: Path) -> bool:
    """Remove ``folder`` if it is empty; returns whether it was removed.

    A folder with anything in it (the user's files, a hidden file) is kept.
    """
    path = LibraryPaths(root).resolve(folder)
    if not path.is_dir() or path.is_symlink():
        return False
    try:
        path.rmdir()
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    return True
