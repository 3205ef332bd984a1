"""The plan: the ordered actions that turn the disk into the layout.

Pure: ``build_plan(state)`` is a function of the two snapshots and the
previous placement. Every action names the playlist whose partition runs it.
Folder actions come first (every partition makes sure they are done before
its own), then primaries (move, adopt, download, and re-tags of primaries
that stay where they are: their DJ tags follow TIDAL's values), then links,
then removals, then each changed playlist's M3U8. A dry run prints this same
object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from tidal_sync_assets.disk.entry import EntryKind
from tidal_sync_assets.dj.tags import DjValues, dj_tags
from tidal_sync_assets.planning.actions import REMOVAL_KINDS, Action, ActionKind
from tidal_sync_assets.planning.diff import Diff, EntryState, PrimarySource, compute_diff
from tidal_sync_assets.planning.state import LibraryState

_ORDER = [
    ActionKind.RENAME_FOLDER,
    ActionKind.CREATE_FOLDER,
    ActionKind.MOVE_PRIMARY,
    ActionKind.ADOPT,
    ActionKind.DOWNLOAD,
    ActionKind.RETAG,
    ActionKind.LINK,
    ActionKind.UNLINK,
    ActionKind.TRASH,
    ActionKind.REMOVE_FOLDER,
    ActionKind.WRITE_M3U8,
]
_SOURCE_KIND = {
    PrimarySource.MOVE: ActionKind.MOVE_PRIMARY,
    PrimarySource.ADOPT: ActionKind.ADOPT,
    PrimarySource.DOWNLOAD: ActionKind.DOWNLOAD,
}


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    diff: Diff

    def by_kind(self) -> Counter[ActionKind]:
        return Counter(action.kind for action in self.actions)

    def by_playlist(self) -> dict[str | None, list[Action]]:
        grouped: dict[str | None, list[Action]] = {}
        for action in self.actions:
            grouped.setdefault(action.playlist_id, []).append(action)
        return grouped

    @property
    def removals(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.kind in REMOVAL_KINDS)


def build_plan(state: LibraryState, diff: Diff | None = None) -> Plan:
    """The plan for ``state``; ``diff`` is ``compute_diff(state)`` when the caller has it."""
    diff = diff if diff is not None else compute_diff(state)
    unordered = [
        *_folder_actions(state, diff),
        *_primary_actions(diff),
        *_retag_actions(state, diff),
        *_link_actions(diff),
        *_removal_actions(state, diff),
    ]
    # A re-tag leaves every path as it is: the M3U8 stays.
    touched = {a.playlist_id for a in unordered if a.kind is not ActionKind.RETAG}
    unordered += _m3u8_actions(state, diff, touched)
    rank = {kind: i for i, kind in enumerate(_ORDER)}
    ordered = sorted(
        unordered,
        key=lambda a: (rank[a.kind], a.playlist_id or "", a.target or a.source or ""),
    )
    return Plan(
        actions=tuple(
            Action(seq, a.kind, a.playlist_id, a.track_id, a.source, a.target, a.size)
            for seq, a in enumerate(ordered)
        ),
        diff=diff,
    )


def _action(kind: ActionKind, playlist: str | None, **fields: object) -> Action:
    return Action(seq=0, kind=kind, playlist_id=playlist, **fields)  # type: ignore[arg-type]


def _folder_actions(state: LibraryState, diff: Diff) -> Iterator[Action]:
    layout = diff.layout
    for playlist in state.playlists:
        target = layout.folders[playlist.tidal_id]
        # A playlist gone from TIDAL before it ever had a folder gets none: making one
        # now would only give the next sync a deleted playlist's folder to remove.
        if playlist.folder is None and not playlist.removed:
            yield _action(ActionKind.CREATE_FOLDER, playlist.tidal_id, target=target)
    for source, target in layout.renames.items():
        yield _action(ActionKind.RENAME_FOLDER, layout.owner[target], source=source, target=target)


def _primary_actions(diff: Diff) -> Iterator[Action]:
    layout = diff.layout
    for track, (how, source) in diff.sources.items():
        kind = _SOURCE_KIND.get(how)
        if kind is None:
            continue
        size = layout.disk[source].size if source and source in layout.disk else None
        yield _action(
            kind,
            layout.primary_playlist[track],
            track_id=track,
            source=source,
            target=layout.primary_path[track],
            size=size,
        )


def _retag_actions(state: LibraryState, diff: Diff) -> Iterator[Action]:
    """A primary that stays where it is, whose DJ tags TIDAL's values now give otherwise."""
    layout = diff.layout
    for track, (how, _) in diff.sources.items():
        if how is not PrimarySource.IN_PLACE or track not in state.tagged:
            continue
        wanted = dj_tags(DjValues.of(state.tracks[track]), state.key_notation)
        if state.tagged[track] != wanted:
            yield _action(
                ActionKind.RETAG,
                layout.primary_playlist[track],
                track_id=track,
                target=layout.primary_path[track],
            )


def _link_actions(diff: Diff) -> Iterator[Action]:
    for (playlist, track), state in diff.entries.items():
        if state is EntryState.WRONG_LINK:
            target = diff.layout.entries[(playlist, track)]
            yield _action(ActionKind.LINK, playlist, track_id=track, target=target)


def _removal_actions(state: LibraryState, diff: Diff) -> Iterator[Action]:
    layout = diff.layout
    primaries = {layout.future(path) for path in state.primaries.values()}
    # Files moved or adopted out of a deleted playlist's folder leave it too: counting
    # them lets this plan remove the folder, instead of leaving it to the next plan.
    removed_paths: set[str] = {
        source
        for how, source in diff.sources.values()
        if source is not None and how is not PrimarySource.IN_PLACE
    }
    for path in diff.unwanted:
        entry = layout.disk[path]
        keeps_data = entry.kind is EntryKind.SYMLINK or (entry.nlink > 1 and path not in primaries)
        kind = ActionKind.UNLINK if keeps_data else ActionKind.TRASH
        removed_paths.add(path)
        yield _action(kind, layout.owner_of(path), source=path, size=entry.size)
    for playlist in state.playlists:
        if not playlist.removed or playlist.folder is None:
            continue
        folder = layout.folders[playlist.tidal_id]
        prefix = folder + "/"
        if all(path in removed_paths for path in layout.disk if path.startswith(prefix)):
            yield _action(ActionKind.REMOVE_FOLDER, playlist.tidal_id, source=folder)


def _m3u8_actions(state: LibraryState, diff: Diff, touched: set[str | None]) -> list[Action]:
    layout = diff.layout
    # Entries that name primaries change with any primary that moves, in any playlist.
    moved = (
        {
            track
            for track, (how, _) in diff.sources.items()
            if how is not PrimarySource.NONE
            and state.primaries.get(track) != layout.primary_path[track]
        }
        if state.m3u8_paths == "primary"
        else set()
    )
    actions = []
    for playlist in state.playlists:
        if playlist.removed:
            continue
        target = layout.m3u8[playlist.tidal_id]
        if (
            playlist.changed
            or playlist.tidal_id in touched
            or target not in layout.disk
            or playlist.m3u8_paths != state.m3u8_paths  # written for the other setting
            or not moved.isdisjoint(playlist.track_ids)
        ):
            actions.append(_action(ActionKind.WRITE_M3U8, playlist.tidal_id, target=target))
    return actions
