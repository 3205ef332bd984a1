"""The seed's sync status fields, decided from the diff. Pure.

``playlist_tracks.sync_status`` says how each entry stands (in place, a link to
make, a file to move), ``playlists.sync_status`` how the playlist stands as a whole;
a track whose primary must come from TIDAL again is no longer downloaded, and one
TIDAL will not stream with no local copy is an error with this module's reason. The
status store writes what ``diff_statuses`` decides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from tidal_sync_assets.planning.diff import Diff, EntryState, PrimarySource


class PlaylistSyncStatus(StrEnum):
    IN_SYNC = "in_sync"
    NEEDS_DOWNLOAD = "needs_download"
    NEEDS_UPDATE = "needs_update"
    NEEDS_REMOVAL = "needs_removal"
    UNKNOWN = "unknown"


class TrackSyncStatus(StrEnum):
    SYNCED = "synced"
    NEEDS_SYMLINK = "needs_symlink"
    NEEDS_MOVE = "needs_move"
    NEEDS_REMOVAL = "needs_removal"
    UNKNOWN = "unknown"


ENTRY_STATUS = {
    EntryState.PRIMARY: TrackSyncStatus.SYNCED,
    EntryState.LINK: TrackSyncStatus.SYNCED,
    EntryState.WRONG_LINK: TrackSyncStatus.NEEDS_SYMLINK,
    EntryState.MISSING: TrackSyncStatus.NEEDS_SYMLINK,
    EntryState.OUTDATED: TrackSyncStatus.NEEDS_MOVE,
    EntryState.UNAVAILABLE: TrackSyncStatus.UNKNOWN,
}
UNAVAILABLE_REASON = "unavailable on TIDAL (streaming not allowed) and no local copy"


@dataclass(frozen=True, slots=True)
class DiffStatuses:
    """What the status fields should say after a diff."""

    # (playlist, track) -> the entry's status and ``symlink_valid`` (None: it is the primary)
    entries: dict[tuple[str, int], tuple[TrackSyncStatus, bool | None]]
    playlists: dict[str, PlaylistSyncStatus]
    not_downloaded: list[int]  # tracks whose primary must be downloaded (again)
    unavailable: list[int]  # tracks TIDAL will not stream, with no local copy


def diff_statuses(diff: Diff) -> DiffStatuses:
    layout = diff.layout
    entries: dict[tuple[str, int], tuple[TrackSyncStatus, bool | None]] = {}
    by_playlist: dict[str, set[EntryState]] = defaultdict(set)
    for key, state in diff.entries.items():
        valid = state is EntryState.LINK if layout.is_link(*key) else None
        entries[key] = (ENTRY_STATUS[state], valid)
        by_playlist[key[0]].add(state)
    return DiffStatuses(
        entries=entries,
        playlists={playlist: playlist_status(states) for playlist, states in by_playlist.items()},
        not_downloaded=[t for t, (how, _) in diff.sources.items() if how is PrimarySource.DOWNLOAD],
        unavailable=[t for t, (how, _) in diff.sources.items() if how is PrimarySource.NONE],
    )


def playlist_status(states: set[EntryState]) -> PlaylistSyncStatus:
    if EntryState.MISSING in states:
        return PlaylistSyncStatus.NEEDS_DOWNLOAD
    if states & {EntryState.WRONG_LINK, EntryState.OUTDATED}:
        return PlaylistSyncStatus.NEEDS_UPDATE
    return PlaylistSyncStatus.IN_SYNC
