"""The plan's vocabulary: one ``Action`` per change the library needs.

A plan is an ordered tuple of actions. Paths are POSIX strings relative to
the library root (``Playlists/<folder>/<file>``). The planner produces
actions; the library executor is the only code that carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActionKind(StrEnum):
    CREATE_FOLDER = "create_folder"  # target: the playlist's folder
    RENAME_FOLDER = "rename_folder"  # source -> target, both folders
    DOWNLOAD = "download"  # track to target (its primary path)
    ADOPT = "adopt"  # a matching local file at source becomes the primary at target
    MOVE_PRIMARY = "move_primary"  # an existing primary moves/renames source -> target
    RETAG = "retag"  # the primary at target gets the DJ tags TIDAL's values now give
    LINK = "link"  # target becomes a link (per link mode) to the track's primary
    UNLINK = "unlink"  # a managed link at source is no longer wanted
    TRASH = "trash"  # a managed real file at source goes to the trash
    REMOVE_FOLDER = "remove_folder"  # an emptied folder of a deleted playlist
    WRITE_M3U8 = "write_m3u8"  # the playlist's M3U8 at target


class ActionStatus(StrEnum):
    """How an action stands; ``plan_actions.status``."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to do any more, or the track is unavailable


#: Kinds that take a file away from where it was: guarded against mass removal.
REMOVAL_KINDS = frozenset({ActionKind.TRASH, ActionKind.UNLINK, ActionKind.REMOVE_FOLDER})


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a plan, owned by the playlist whose partition runs it."""

    seq: int
    kind: ActionKind
    playlist_id: str | None
    track_id: int | None = None
    source: str | None = None
    target: str | None = None
    size: int | None = None  # bytes, when known (downloads avoided, trash)
