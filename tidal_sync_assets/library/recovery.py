"""What a killed library run did on disk but never recorded: found and recorded.

The executor's ledger writes its bookkeeping in batches, so a process killed between
two batches leaves work on disk the database does not know of. Unrecorded, a link
would look like the user's own file (its name taken, the next link named around it)
and a trashed primary like a file gone missing. The plan is the journal: its actions
were stored before any of them ran. For each action of the latest plan still pending,
the disk says whether it was carried out; one that was is recorded as its handler
records it, and marked done. Run under the library lock, before a scan reads the
placement and before a library run starts.

An adoption in place, a re-tag and an M3U8 leave no sign they happened; they stay
pending, and the next plan does them again (each is safe to repeat).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlalchemy import Engine

from tidal_sync_assets.database import action_store, plan_store
from tidal_sync_assets.database.models import PlanStatus
from tidal_sync_assets.disk.entry import AUDIO_EXTENSIONS
from tidal_sync_assets.disk.links import link_is_valid
from tidal_sync_assets.disk.paths import LibraryPaths
from tidal_sync_assets.disk.tags import AudioReadError, read_tags
from tidal_sync_assets.library.download import with_extension
from tidal_sync_assets.planning.actions import Action, ActionKind, ActionStatus
from tidal_sync_assets.planning.placement import (
    ActionFinished,
    FolderPlaced,
    FolderRenamed,
    LinkPlaced,
    PathForgotten,
    PlaylistRemoved,
    PrimaryPlaced,
    Record,
)
from tidal_sync_assets.settings import LinkMode


@dataclass
class _Disk:
    """The library as the killed run left it, and what this pass found so far."""

    library: LibraryPaths
    started: datetime  # when a run began on the plan: a file written before is not its
    link_mode: LinkMode
    primaries: dict[int, str]  # track -> its primary: recorded, or found in this pass

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.library.resolve(path))

    def is_folder(self, path: str) -> bool:
        return self.library.resolve(path).is_dir()

    def tagged_file(self, path: str, track: int, *, newer: bool = False) -> int | None:
        """The size of the real file at ``path`` that carries ``track``'s tag (written
        since the run began, with ``newer``); None when there is none."""
        absolute = self.library.resolve(path)
        try:
            info = absolute.lstat()
            if not stat.S_ISREG(info.st_mode):
                return None
            if newer and datetime.fromtimestamp(info.st_mtime, UTC) < self.started:
                return None
            return info.st_size if read_tags(absolute).tidal_track_id == track else None
        except (OSError, AudioReadError):
            return None


def _folder_created(action: Action, disk: _Disk) -> list[Record]:
    if action.playlist_id and action.target and disk.is_folder(action.target):
        return [FolderPlaced(action.playlist_id, action.target)]
    return []


def _folder_renamed(action: Action, disk: _Disk) -> list[Record]:
    source, target = action.source, action.target
    if not (action.playlist_id and source and target) or disk.exists(source):
        return []
    return [FolderRenamed(action.playlist_id, source, target)] if disk.is_folder(target) else []


def _downloaded(action: Action, disk: _Disk) -> list[Record]:
    track, target = action.track_id, action.target
    if track is None or target is None:
        return []
    own = os.path.splitext(target)[1]
    for extension in sorted(AUDIO_EXTENSIONS, key=lambda e: e != own):
        path = with_extension(target, extension)
        size = disk.tagged_file(path, track, newer=True)
        if size is not None:
            disk.primaries[track] = path
            return [PrimaryPlaced(track, action.playlist_id, path, size)]
    return []


def _moved(action: Action, disk: _Disk) -> list[Record]:
    track, source, target = action.track_id, action.source, action.target
    if track is None or source is None or target is None or source == target:
        return []
    size = None if disk.exists(source) else disk.tagged_file(target, track)
    if size is None:
        return []
    disk.primaries[track] = target
    return [PrimaryPlaced(track, action.playlist_id, target, size)]


def _linked(action: Action, disk: _Disk) -> list[Record]:
    track, target = action.track_id, action.target
    if track is None or target is None or action.playlist_id is None:
        return []
    primary = disk.primaries.get(track)
    if primary is None:
        return []
    path = with_extension(target, os.path.splitext(primary)[1])
    if not link_is_valid(primary, path, disk.link_mode, root=disk.library.root):
        return []
    return [LinkPlaced(action.playlist_id, track, path)]


def _removed(action: Action, disk: _Disk) -> list[Record]:
    if action.source is None or disk.exists(action.source):
        return []
    return [PathForgotten(action.source)]


def _folder_removed(action: Action, disk: _Disk) -> list[Record]:
    if action.playlist_id is None or action.source is None or disk.exists(action.source):
        return []
    return [PlaylistRemoved(action.playlist_id)]


#: How the disk shows that an action was carried out: the records it would have made.
DONE_WHEN: Mapping[ActionKind, Callable[[Action, _Disk], list[Record]]] = {
    ActionKind.CREATE_FOLDER: _folder_created,
    ActionKind.RENAME_FOLDER: _folder_renamed,
    ActionKind.DOWNLOAD: _downloaded,
    ActionKind.ADOPT: _moved,
    ActionKind.MOVE_PRIMARY: _moved,
    ActionKind.LINK: _linked,
    ActionKind.UNLINK: _removed,
    ActionKind.TRASH: _removed,
    ActionKind.REMOVE_FOLDER: _folder_removed,
}
FOLDER_KINDS = (ActionKind.RENAME_FOLDER, ActionKind.CREATE_FOLDER)


def record_interrupted_work(engine: Engine, root: Path) -> int:
    """Record what the latest plan's pending actions did on disk; how many were done."""
    latest = plan_store.latest_plan(engine)
    if latest is None or latest[1] is PlanStatus.HELD:
        return 0
    plan_id = latest[0]
    started, link_mode = plan_store.plan_started(engine, plan_id)
    if started is None:  # no run began on it: nothing can have been done
        return 0
    pending = plan_store.load_actions(engine, plan_id, pending_only=True)
    library = LibraryPaths(root)
    # Folders first, written before any primary's path is read: a rename moves them.
    folders = [a for a in pending if a.kind in FOLDER_KINDS]
    mode = cast(LinkMode, link_mode)
    done = _record(engine, plan_id, folders, _Disk(library, started, mode, {}))
    disk = _Disk(library, started, mode, action_store.primary_paths(engine))
    return done + _record(engine, plan_id, [a for a in pending if a.kind not in FOLDER_KINDS], disk)


def _record(engine: Engine, plan_id: int, actions: list[Action], disk: _Disk) -> int:
    records: list[Record] = []
    done = 0
    for action in actions:
        check = DONE_WHEN.get(action.kind)
        found = check(action, disk) if check is not None else []
        if found:
            now = datetime.now(UTC)
            records += [
                *found,
                ActionFinished(plan_id, action.seq, ActionStatus.DONE, None, now, now),
            ]
            done += 1
    action_store.write_records(engine, records)
    return done
