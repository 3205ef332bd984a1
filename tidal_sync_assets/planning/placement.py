"""What carrying out the plan changed, as records for the database: pure data.

The library's handlers do the disk and network work and say what they did as
these records; the executor's ledger hands them to the action store in batches,
in the order they happened, and the store writes each one as the placement
columns (``tracks.file_path``, ``playlist_tracks.symlink_path``, ...) and the
actions' outcomes. Paths are POSIX and relative to the library root.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tidal_sync_assets.disk.entry import AudioTags
from tidal_sync_assets.dj.tags import DjValues
from tidal_sync_assets.planning.actions import ActionStatus


@dataclass(frozen=True, slots=True)
class FolderPlaced:
    """``folder`` is now ``playlist``'s folder."""

    playlist: str
    folder: str


@dataclass(frozen=True, slots=True)
class FolderRenamed:
    """The folder ``old`` is now ``new``: every stored path below it follows."""

    playlist: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class PlaylistRemoved:
    """A playlist TIDAL dropped is cleaned up: its row and entries go."""

    playlist: str


@dataclass(frozen=True, slots=True)
class DownloadStarted:
    track: int


@dataclass(frozen=True, slots=True)
class DownloadFailed:
    track: int
    error: str


@dataclass(frozen=True, slots=True)
class Delivered:
    """What TIDAL delivered for ``track``'s stored file."""

    track: int
    audio_quality: str
    codec: str
    sample_rate: int | None
    bit_depth: int | None


@dataclass(frozen=True, slots=True)
class PrimaryPlaced:
    """``path`` is now ``track``'s primary, held by ``playlist``; ``size`` as placed."""

    track: int
    playlist: str | None
    path: str
    size: int | None


@dataclass(frozen=True, slots=True)
class Tagged:
    """``track``'s primary now carries the DJ tags ``values`` give in ``notation`` (None:
    not known; taken to be the notation set now)."""

    track: int
    values: DjValues
    notation: str | None


@dataclass(frozen=True, slots=True)
class FileRewritten:
    """The product rewrote its own file at ``path`` in place (its tags): its stat and
    tags as they are now, so the next scan sees the file it left, not a changed one."""

    path: str
    inode: int
    size: int
    mtime_ns: int
    tags: AudioTags


@dataclass(frozen=True, slots=True)
class LinkPlaced:
    """``path`` is now ``playlist``'s link to ``track``'s primary."""

    playlist: str
    track: int
    path: str


@dataclass(frozen=True, slots=True)
class PathForgotten:
    """Nothing the product placed is at ``path`` any more (unlinked or trashed)."""

    path: str


@dataclass(frozen=True, slots=True)
class M3U8Written:
    """``playlist``'s M3U8 is written, its entries naming what ``paths`` says."""

    playlist: str
    paths: str


@dataclass(frozen=True, slots=True)
class PlaylistSynced:
    """The library ran ``playlist``'s actions; ``in_sync``: all of them succeeded."""

    playlist: str
    in_sync: bool


@dataclass(frozen=True, slots=True)
class ActionFinished:
    """One action's outcome."""

    plan_id: int
    seq: int
    status: ActionStatus
    error: str | None
    started_at: datetime
    finished_at: datetime


Record = (
    FolderPlaced
    | FolderRenamed
    | PlaylistRemoved
    | DownloadStarted
    | DownloadFailed
    | Delivered
    | PrimaryPlaced
    | Tagged
    | FileRewritten
    | LinkPlaced
    | PathForgotten
    | M3U8Written
    | PlaylistSynced
    | ActionFinished
)
