"""What TIDAL says the account holds: the pure, Dagster-free snapshot types.

The TIDAL client fills these; the snapshot store persists them; the planner
reads them back. Nothing here talks to the network or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TidalTrack:
    """One TIDAL track with the metadata the library names and tags files by."""

    tidal_id: int
    title: str
    artists: tuple[str, ...]
    album: str | None = None
    album_artist: str | None = None  # the album's: unknown until the album is looked up
    album_id: int | None = None
    track_number: int | None = None
    isrc: str | None = None
    duration: int | None = None  # seconds
    version: str | None = None
    allow_streaming: bool = True
    bpm: float | None = None
    musical_key: str | None = None  # classic notation (Am, F#)
    release_date: str | None = None  # the album's, ISO (2024-02-09): as album_artist

    @property
    def artist(self) -> str:
        """The artists as one display string, main artist first."""
        return ", ".join(self.artists)


@dataclass(frozen=True, slots=True)
class TidalAlbum:
    """What a file's tags take from its album that the track's own JSON lacks, as
    TIDAL's album document says it (all None: TIDAL no longer knows the album)."""

    tidal_id: int
    artist: str | None = None
    release_date: str | None = None  # ISO (2024-02-09)
    cover: str | None = None  # the front cover's image id; None: TIDAL has none


@dataclass(frozen=True, slots=True)
class TidalPlaylist:
    """One playlist; ``track_ids`` is TIDAL order and keeps duplicates.

    ``complete`` is False when fewer tracks came back than
    ``number_of_tracks`` announced (or a page failed): such a playlist may
    not cause removals. ``fetched`` is False when the tracks were not fetched
    again because ``last_updated`` had not changed; ``track_ids`` then holds
    the previously stored list.
    """

    tidal_id: str
    name: str
    number_of_tracks: int
    last_updated: datetime | None
    track_ids: tuple[int, ...]
    description: str | None = None
    complete: bool = True
    fetched: bool = True
    favourite: bool = False


@dataclass(frozen=True, slots=True)
class TidalSnapshot:
    """Everything fetched in one snapshot, plus how it went."""

    playlists: tuple[TidalPlaylist, ...]
    tracks: dict[int, TidalTrack] = field(default_factory=dict)
    requests_made: int = 0
    listing_complete: bool = True  # the playlist list held all TIDAL announced
    playlists_announced: int | None = None  # TIDAL's totalNumberOfItems for the list

    @property
    def complete(self) -> bool:
        return self.listing_complete and all(p.complete for p in self.playlists)


@dataclass(frozen=True, slots=True)
class PlaylistLabel:
    """What a person knows a playlist by, where the product keys it by UUID (its
    ``playlist_library`` partition): its name, the account's TIDAL folders it sits in,
    and its folder in the library."""

    tidal_id: str
    name: str
    tidal_folder: tuple[str, ...] = ()  # folder names from the top; (): at the top
    folder: str | None = None  # root-relative, once the library made it

    @property
    def tidal_path(self) -> str:
        """The TIDAL folders it sits in, ``Club / Warm-ups``; empty at the top."""
        return " / ".join(self.tidal_folder)


@dataclass(frozen=True, slots=True)
class PlaylistChange:
    """How one playlist differs from the stored one after a snapshot."""

    tidal_id: str
    name: str
    change: str  # new, renamed, tracks changed, removed, incomplete
    added: int = 0
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotOutcome:
    """A snapshot as stored: its id, what changed, the partitions, the entries."""

    snapshot_id: int
    changes: tuple[PlaylistChange, ...]
    partitions: tuple[str, ...]  # every playlist the library still has to serve
    entries: int
