"""The desired library: which folder each playlist gets, where each track's
primary lives and where each other occurrence links from.

Pure. Follows the SPEC: folders and files are named through
``disk.naming`` (stable: what already holds a name keeps it), a primary that
stays valid never moves, otherwise the primary goes to the first playlist by
folder name. Paths here are *future* paths: after this plan's folder renames.
"""

from __future__ import annotations

import os.path
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from tidal_sync_assets.disk.entry import EntryKind, ScannedEntry
from tidal_sync_assets.disk.m3u8 import m3u8_path_for
from tidal_sync_assets.disk.naming import assign_file_names, assign_folders, track_stem
from tidal_sync_assets.planning.state import (
    PLAYLISTS_DIR,
    LibraryState,
    folder_path,
)

_PREFIX = PLAYLISTS_DIR + "/"


@dataclass(frozen=True, slots=True)
class Layout:
    folders: dict[str, str]  # playlist -> future folder path
    renames: dict[str, str]  # current folder path -> future folder path
    owner: dict[str, str]  # future folder path -> playlist
    primary_playlist: dict[int, str]  # track -> playlist holding its primary
    primary_path: dict[int, str]  # track -> future primary path
    entries: dict[tuple[str, int], str]  # (playlist, track) -> future path (primary or link)
    m3u8: dict[str, str]  # playlist -> its M3U8's future path (playlists still on TIDAL)
    disk: dict[str, ScannedEntry]  # scanned entries keyed by future path
    managed: frozenset[str]  # future paths the product placed before (primaries, links, M3U8)
    adoptable: dict[int, list[str]]  # track -> unmanaged matching local files, by path

    def future(self, path: str) -> str:
        return _future(path, self.renames)

    def owner_of(self, path: str) -> str | None:
        return self.owner.get(os.path.dirname(path))

    def is_link(self, playlist: str, track: int) -> bool:
        return self.primary_playlist.get(track) != playlist


def _future(path: str, renames: Mapping[str, str]) -> str:
    if not renames or not path.startswith(_PREFIX):
        return path
    folder, sep, rest = path[len(_PREFIX) :].partition("/")
    new = renames.get(_PREFIX + folder)
    if new is None:
        return path
    return f"{new}{sep}{rest}"


def _extension(path: str | None) -> str | None:
    if not path:
        return None
    ext = os.path.splitext(path)[1]
    return ext.lower() or None


def compute_layout(state: LibraryState) -> Layout:
    names = assign_folders([(p.tidal_id, p.name, p.folder) for p in state.playlists])
    folders = {pid: folder_path(name) for pid, name in names.items()}
    renames = {
        folder_path(p.folder): folders[p.tidal_id]
        for p in state.playlists
        if p.folder is not None and folder_path(p.folder) != folders[p.tidal_id]
    }
    owner = {path: pid for pid, path in folders.items()}
    disk = {_future(path, renames): entry for path, entry in state.disk.items()}
    primaries = {t: _future(path, renames) for t, path in state.primaries.items()}
    links = {key: _future(path, renames) for key, path in state.links.items()}
    managed = frozenset(
        [*primaries.values(), *links.values()]
        + [
            _future(m3u8_path_for(folder_path(p.folder)), renames)
            for p in state.playlists
            if p.folder is not None
        ]
    )

    active = [p for p in state.playlists if not p.removed]
    by_folder_name = sorted(active, key=lambda p: (names[p.tidal_id].casefold(), names[p.tidal_id]))
    members: dict[int, list[str]] = defaultdict(list)
    for playlist in by_folder_name:
        for track in dict.fromkeys(playlist.track_ids):
            if track in state.tracks:
                members[track].append(playlist.tidal_id)

    adoptable = _adoptable(state.matches, disk, managed, renames)
    primary_playlist: dict[int, str] = {}
    for track, holders in members.items():
        current = primaries.get(track)
        holder = owner.get(os.path.dirname(current)) if current else None
        valid = current is not None and _is_file(disk.get(current))
        primary_playlist[track] = holder if valid and holder in holders else holders[0]

    extension = {
        track: _extension(primaries.get(track))
        or _extension(next(iter(adoptable.get(track, ())), None))
        or state.default_extension
        for track in members
    }
    user_files = _user_files(disk, managed, {_future(p, renames) for p in state.matches})
    entries: dict[tuple[str, int], str] = {}
    primary_path: dict[int, str] = {}
    for playlist in active:
        folder = folders[playlist.tidal_id]
        tracks = [t for t in dict.fromkeys(playlist.track_ids) if t in state.tracks]
        wanted = [
            (
                track,
                track_stem(state.tracks[track]) + (extension[track] or ""),
                _current_name(folder, playlist.tidal_id, track, primaries, links),
            )
            for track in tracks
        ]
        blockers: list[tuple[int, str, str | None]] = [
            (-1 - i, name, name) for i, name in enumerate(user_files.get(folder, ()))
        ]
        assigned = assign_file_names(wanted + blockers)
        for track in tracks:
            path = f"{folder}/{assigned[track]}"
            entries[(playlist.tidal_id, track)] = path
            if primary_playlist[track] == playlist.tidal_id:
                primary_path[track] = path

    return Layout(
        folders=folders,
        renames=renames,
        owner=owner,
        primary_playlist=primary_playlist,
        primary_path=primary_path,
        entries=entries,
        m3u8={p.tidal_id: m3u8_path_for(folders[p.tidal_id]) for p in active},
        disk=disk,
        managed=managed,
        adoptable=adoptable,
    )


def _is_file(entry: ScannedEntry | None) -> bool:
    return entry is not None and entry.kind is EntryKind.FILE and entry.error is None


def _current_name(
    folder: str,
    playlist: str,
    track: int,
    primaries: Mapping[int, str],
    links: Mapping[tuple[str, int], str],
) -> str | None:
    for path in (links.get((playlist, track)), primaries.get(track)):
        if path and os.path.dirname(path) == folder:
            return os.path.basename(path)
    return None


def _adoptable(
    matches: Mapping[str, int],
    disk: Mapping[str, ScannedEntry],
    managed: frozenset[str],
    renames: Mapping[str, str],
) -> dict[int, list[str]]:
    """Per track, the unmanaged local files that match it, sorted by path."""
    found: dict[int, list[str]] = defaultdict(list)
    for path in sorted(matches):
        future = _future(path, renames)
        if future not in managed and _is_file(disk.get(future)):
            found[matches[path]].append(future)
    return found


def _user_files(
    disk: Mapping[str, ScannedEntry], managed: frozenset[str], matched: set[str]
) -> dict[str, list[str]]:
    """Per folder, the names of the user's own files: blockers no track may take."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in disk:
        if path not in managed and path not in matched:
            folder, _, name = path.rpartition("/")
            found[folder].append(name)
    return found
