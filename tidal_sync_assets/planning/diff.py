"""The diff: for every playlist entry, how the disk stands against the layout.

Pure. Each (playlist, track) entry is in place as the primary, a valid link,
a wrong link, missing, outdated (its file exists under an old name or
folder), or unavailable. Each track's primary has a source (in place, moved,
adopted, downloaded, or none). Managed paths no playlist wants any more are
listed as unwanted. The planner turns this into actions; ``library_diff``
stores it in the seed's status fields.
"""

from __future__ import annotations

import os.path
from collections import Counter, defaultdict
from dataclasses import dataclass
from enum import StrEnum

from tidal_sync_assets.disk.entry import EntryKind, ScannedEntry
from tidal_sync_assets.planning.layout import Layout, compute_layout
from tidal_sync_assets.planning.state import LibraryState


class EntryState(StrEnum):
    PRIMARY = "primary"
    LINK = "link"
    WRONG_LINK = "wrong_link"
    MISSING = "missing"
    OUTDATED = "outdated"
    UNAVAILABLE = "unavailable"


class PrimarySource(StrEnum):
    IN_PLACE = "in_place"
    MOVE = "move"  # an existing primary moves (renamed, or its playlist dropped the track)
    ADOPT = "adopt"  # a matching local file becomes the primary
    DOWNLOAD = "download"
    NONE = "none"  # unavailable on TIDAL and no local copy


@dataclass(frozen=True, slots=True)
class Diff:
    layout: Layout
    entries: dict[tuple[str, int], EntryState]
    sources: dict[int, tuple[PrimarySource, str | None]]  # track -> (how, from which path)
    unwanted: tuple[str, ...]  # managed future paths nothing wants, sorted

    def counts(self) -> dict[str, Counter[EntryState]]:
        """Each playlist's entries by state (one pass over every entry)."""
        by_playlist: dict[str, Counter[EntryState]] = defaultdict(Counter)
        for (playlist, _), state in self.entries.items():
            by_playlist[playlist][state] += 1
        return by_playlist


def compute_diff(state: LibraryState) -> Diff:
    layout = compute_layout(state)
    disk = layout.disk
    sources = {
        track: _primary_source(state, layout, track, target)
        for track, target in layout.primary_path.items()
    }
    entries: dict[tuple[str, int], EntryState] = {}
    for (playlist, track), path in layout.entries.items():
        how, _ = sources[track]
        if how is PrimarySource.NONE:
            entries[(playlist, track)] = EntryState.UNAVAILABLE
        elif not layout.is_link(playlist, track):
            entries[(playlist, track)] = {
                PrimarySource.IN_PLACE: EntryState.PRIMARY,
                PrimarySource.MOVE: EntryState.OUTDATED,
            }.get(how, EntryState.MISSING)
        elif _link_valid(state, layout, disk.get(path), path, track, how):
            entries[(playlist, track)] = EntryState.LINK
        else:
            entries[(playlist, track)] = EntryState.WRONG_LINK
    moved_from = {src for how, src in sources.values() if src and how is not PrimarySource.IN_PLACE}
    wanted = set(layout.entries.values()) | set(layout.m3u8.values())
    unwanted = sorted(
        path
        for path in layout.managed
        if path in disk and path not in wanted and path not in moved_from
    )
    return Diff(layout=layout, entries=entries, sources=sources, unwanted=tuple(unwanted))


def relative_link_target(primary: str, link: str) -> str:
    """What a relative symlink at ``link`` reads to reach ``primary`` (root-relative paths).

    ``os.path.relpath(primary, dirname(link))`` without its ``abspath`` calls,
    which made it the diff's hot spot; the general form is kept for paths that
    are not plain ``a/b/c`` (empty, ``.`` or ``..`` components).
    """
    target, base = primary.split("/"), link.split("/")[:-1]
    if not base or {"", ".", ".."} & {*target, *base}:
        return os.path.relpath(primary, os.path.dirname(link))
    common = 0
    for ours, theirs in zip(target, base, strict=False):
        if ours != theirs:
            break
        common += 1
    return "/".join([".."] * (len(base) - common) + target[common:]) or "."


def _primary_source(
    state: LibraryState, layout: Layout, track: int, target: str
) -> tuple[PrimarySource, str | None]:
    current = state.primaries.get(track)
    if current is not None:
        current = layout.future(current)
        entry = layout.disk.get(current)
        if entry is not None and entry.intact_file:  # a damaged primary is downloaded again
            how = PrimarySource.IN_PLACE if current == target else PrimarySource.MOVE
            return how, current
    candidates = layout.adoptable.get(track)
    if candidates:
        return PrimarySource.ADOPT, target if target in candidates else candidates[0]
    if state.tracks[track].allow_streaming:
        return PrimarySource.DOWNLOAD, None
    return PrimarySource.NONE, None


def _link_valid(
    state: LibraryState,
    layout: Layout,
    entry: ScannedEntry | None,
    path: str,
    track: int,
    how: PrimarySource,
) -> bool:
    if entry is None or entry.error is not None:
        return False
    primary = layout.primary_path[track]
    if state.link_mode == "symlink":
        expected = relative_link_target(primary, path)
        return entry.kind is EntryKind.SYMLINK and entry.link_target == expected
    if how not in (PrimarySource.IN_PLACE, PrimarySource.MOVE) or entry.kind is not EntryKind.FILE:
        return False
    source = layout.disk.get(layout.future(state.primaries[track]))
    if source is None:
        return False
    if state.link_mode == "hardlink":
        return entry.inode == source.inode
    return entry.size == source.size and entry.inode != source.inode
