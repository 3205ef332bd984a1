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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tidal_sync_assets.disk.entry import ScannedEntry
from tidal_sync_assets.disk.naming import (
    assign_file_names,
    assign_folders,
    m3u8_path_for,
    track_stem,
)
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
        return self.owner.get(_dirname(path))

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


def _dirname(path: str) -> str:
    """``os.path.dirname`` for the planner's normalized root-relative POSIX paths, cheaper."""
    return path.rpartition("/")[0]


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

    adoptable = _matching(state.matches, disk, managed, renames, _is_file)
    damaged = _matching(state.matches, disk, managed, renames, _is_damaged)
    primary_playlist: dict[int, str] = {}
    valid_primary: set[int] = set()
    for track, holders in members.items():
        current = primaries.get(track)
        holder = owner.get(_dirname(current)) if current else None
        valid = current is not None and _is_file(disk.get(current))
        if valid:
            valid_primary.add(track)
        primary_playlist[track] = holder if valid and holder in holders else holders[0]

    # Each track's wanted file name once, not once per playlist it is in.
    file_name = {
        track: track_stem(state.tracks[track])
        + (
            _extension(primaries.get(track))
            or _extension(next(iter(adoptable.get(track, ())), None))
            or state.default_extension
        )
        for track in members
    }
    present = _names_by_folder(disk)
    entries: dict[tuple[str, int], str] = {}
    primary_path: dict[int, str] = {}
    for playlist in active:
        pid = playlist.tidal_id
        folder = folders[pid]
        tracks = [t for t in dict.fromkeys(playlist.track_ids) if t in state.tracks]
        claims: dict[int, str] = {}
        for track in tracks:
            claim = _current_name(folder, pid, track, primaries, links)
            if claim is None and primary_playlist[track] == pid and track not in valid_primary:
                claim = _name_in(folder, adoptable.get(track, ()))
            if claim is None:
                # The track's file takes the damaged copy's place: the executor moves
                # the damaged one to the trash first (it is never adopted or changed).
                claim = _name_in(folder, damaged.get(track, ()))
            if claim is not None:
                claims[track] = claim
        assigned = _assign_names(tracks, file_name, claims, present.get(folder, []))
        for track in tracks:
            path = f"{folder}/{assigned[track]}"
            entries[(pid, track)] = path
            if primary_playlist[track] == pid:
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
    return entry is not None and entry.intact_file


def _name_in(folder: str, paths: Iterable[str]) -> str | None:
    """The name of the first of ``paths`` that lies in ``folder``."""
    return next((p.rpartition("/")[2] for p in paths if _dirname(p) == folder), None)


def _current_name(
    folder: str,
    playlist: str,
    track: int,
    primaries: Mapping[int, str],
    links: Mapping[tuple[str, int], str],
) -> str | None:
    for path in (links.get((playlist, track)), primaries.get(track)):
        if path:
            parent, _, name = path.rpartition("/")
            if parent == folder:
                return name
    return None


def _matching(
    matches: Mapping[str, int],
    disk: Mapping[str, ScannedEntry],
    managed: frozenset[str],
    renames: Mapping[str, str],
    holds: Callable[[ScannedEntry | None], bool],
) -> dict[int, list[str]]:
    """Per track, the unmanaged local files that match it and of which ``holds``, by path."""
    found: dict[int, list[str]] = defaultdict(list)
    for path in sorted(matches):
        future = _future(path, renames)
        if future not in managed and holds(disk.get(future)):
            found[matches[path]].append(future)
    return found


def _is_damaged(entry: ScannedEntry | None) -> bool:
    return entry is not None and entry.audio_damage is not None


def _names_by_folder(disk: Mapping[str, ScannedEntry]) -> dict[str, list[str]]:
    """Per folder, the names of everything on disk in it, sorted."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(disk):
        folder, _, name = path.rpartition("/")
        found[folder].append(name)
    return found


def _assign_names(
    tracks: list[int],
    file_name: Mapping[int, str],
    claims: dict[int, str],
    present: list[str],
) -> dict[int, str]:
    """One folder's file names: no track takes a name something else holds now.

    Whatever is on disk in the folder and is not the same track's own (its
    current link or primary there, or the local file it adopts in place) is
    a blocker: the user's files, and files this plan moves, adopts, unlinks or
    trashes. Taking such a name would make the executor clear a file another
    action still needs (the adoption source of another track, say). A claim
    the naming rules do not keep turns into a blocker as well, and the names
    are assigned again.
    """
    claims = dict(claims)
    claimed = set(claims.values())
    blocked = [name for name in present if name not in claimed]
    while True:
        blockers: list[tuple[int, str, str | None]] = [
            (-1 - i, name, name) for i, name in enumerate(blocked)
        ]
        assigned = assign_file_names([(t, file_name[t], claims.get(t)) for t in tracks] + blockers)
        lost = [t for t, name in claims.items() if assigned[t] != name and name in present]
        if not lost:
            return assigned
        for track in lost:
            blocked.append(claims.pop(track))
