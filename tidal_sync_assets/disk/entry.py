"""What the scanner found at one path, and which paths are audio or the product's own
temporary files: the pure, Dagster-free scan types and rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

INTERNAL_PREFIX = ".tidal-sync-tmp-"
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".flac", ".m4a", ".mp4", ".aiff", ".aif", ".wav", ".ogg", ".opus"}
)


class EntryKind(StrEnum):
    FILE = "file"  # a regular file (a hardlink is a file with nlink > 1)
    SYMLINK = "symlink"
    OTHER = "other"  # fifo, socket, device: recorded, never touched
    UNREADABLE = "unreadable"  # could not be stat'ed or listed; ``error`` says why


class Ownership(StrEnum):
    MANAGED = "managed"  # matched to a TIDAL track
    USER = "user"  # no match: the user's own, never moved, renamed or removed
    INTERNAL = "internal"  # the product's own temporary files


@dataclass(frozen=True, slots=True)
class AudioTags:
    """The tags the product reads and writes, as one format-neutral record."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    album_artist: str | None = None
    track_number: int | None = None
    isrc: str | None = None
    tidal_track_id: int | None = None
    duration: float | None = None  # seconds, from the stream info
    bpm: int | None = None
    key: str | None = None  # in the notation the user chose
    year: int | None = None


@dataclass(frozen=True, slots=True)
class ScannedEntry:
    """One entry under ``<root>/Playlists``.

    ``path`` is POSIX and relative to the library root. Names that are not
    valid UTF-8 are shown with ``\\x..`` escapes and are never acted on.
    """

    path: str
    kind: EntryKind
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    nlink: int = 0
    link_target: str | None = None  # readlink() text, for symlinks
    link_resolves_to: str | None = None  # root-relative final target, None if broken
    link_outside_root: bool = False
    tags: AudioTags | None = None
    error: str | None = None
    # The decode verdict (``disk.integrity``), kept while inode, size and mtime stay the same.
    audio_checked: bool = False
    audio_damage: str | None = None  # why the audio is not intact; None: intact or unchecked

    @property
    def intact_file(self) -> bool:
        """A readable real file whose audio is not known to be damaged."""
        return self.kind is EntryKind.FILE and self.error is None and self.audio_damage is None


# One path of the latest scan as stored, for a walk to compare with: kind, size,
# mtime_ns, inode, nlink, link_target, link_resolves_to, link_outside_root, error.
ScanStat = tuple[str, int, int, int, int, str | None, str | None, bool, str | None]


@dataclass(frozen=True, slots=True)
class ScanResult:
    entries: list[ScannedEntry]
    reread: int  # audio files whose tags were read this time
    errors: list[ScannedEntry]  # the entries of ``entries`` that carry an ``error``
    decoded: int = 0  # audio files decoded this time (``disk.integrity``)
    damaged: list[ScannedEntry] = field(default_factory=list)  # audio known to be damaged


def is_internal(path: str) -> bool:
    """A temporary file of the product's own (an atomic write in progress)."""
    return path.rpartition("/")[2].startswith(INTERNAL_PREFIX)


def is_audio(path: str) -> bool:
    """An audio file by its extension (the scanner reads tags of these only).

    ``os.path.splitext``'s rule (leading dots start no extension), without its cost.
    """
    name = path.rpartition("/")[2].lstrip(".")
    dot = name.rfind(".")
    return dot >= 0 and name[dot:].lower() in AUDIO_EXTENSIONS
