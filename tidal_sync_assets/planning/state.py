"""The planner's input: what TIDAL wants, what the product placed, what the disk holds.

Built by the planning service from the stores (both snapshots and the previous
placement); pure data, so the planner can be tested and benchmarked without
Dagster, a database or a disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from tidal_sync_assets.disk.entry import EntryKind, ScannedEntry
from tidal_sync_assets.dj.keys import KeyNotation
from tidal_sync_assets.dj.tags import DjTags
from tidal_sync_assets.settings import LinkMode, M3U8Paths
from tidal_sync_assets.tidal.snapshot import TidalTrack

PLAYLISTS_DIR = "Playlists"


@dataclass(frozen=True, slots=True)
class PlaylistState:
    """One playlist as TIDAL has it, and the folder the product gave it before."""

    tidal_id: str
    name: str
    track_ids: tuple[int, ...]
    folder: str | None = None  # current folder name under Playlists/, None if never placed
    removed: bool = False  # gone from TIDAL: its managed files go to the trash
    changed: bool = True  # its tracks were fetched anew (TIDAL's lastUpdated moved)
    m3u8_paths: str | None = "folder"  # what its M3U8's entries name, as last written


@dataclass(frozen=True, slots=True)
class LibraryState:
    """Everything one plan is computed from."""

    playlists: tuple[PlaylistState, ...]
    tracks: Mapping[int, TidalTrack]
    primaries: Mapping[int, str] = field(default_factory=dict)  # track -> primary path
    links: Mapping[tuple[str, int], str] = field(default_factory=dict)  # (playlist, track) -> path
    disk: Mapping[str, ScannedEntry] = field(default_factory=dict)  # scanned, by path
    matches: Mapping[str, int] = field(default_factory=dict)  # scanned path -> matched track
    tagged: Mapping[int, DjTags] = field(default_factory=dict)  # track -> its primary's DJ tags
    link_mode: LinkMode = "symlink"
    default_extension: str = ".flac"
    key_notation: KeyNotation = "classic"
    m3u8_paths: M3U8Paths = "folder"


def folder_path(folder: str) -> str:
    return f"{PLAYLISTS_DIR}/{folder}"


def adoption_matches(
    disk: Mapping[str, ScannedEntry],
    matched: Mapping[str, int],
    placed: Set[str],
    tracks: Mapping[int, TidalTrack],
) -> dict[str, int]:
    """The scan's matches the planner may act on: files the product did not place and
    the scan decoded, matched to a track the library serves. An intact one may be
    adopted; a damaged one only gives its name to the download (``planning.layout``)."""
    found: dict[str, int] = {}
    for path, track in matched.items():
        entry = disk.get(path)
        if (
            track in tracks
            and path not in placed
            and entry is not None
            and entry.kind is EntryKind.FILE
            and entry.audio_checked
        ):
            found[path] = track
    return found
