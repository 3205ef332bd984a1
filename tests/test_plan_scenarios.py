"""The pure planner in scenarios: a LibraryState built in code, no database, no disk."""

from __future__ import annotations

import os

from tidal_sync_assets.disk.entry import AudioTags, EntryKind, ScannedEntry
from tidal_sync_assets.planning.actions import ActionKind
from tidal_sync_assets.planning.guard import removal_hold
from tidal_sync_assets.planning.plan import Plan, build_plan
from tidal_sync_assets.planning.state import LibraryState, PlaylistState
from tidal_sync_assets.tidal.snapshot import TidalTrack

SONG = TidalTrack(1, "Song", ("Ann",))
INTRO = TidalTrack(2, "Intro", ("Bob",))
TRACKS = {SONG.tidal_id: SONG, INTRO.tidal_id: INTRO}
ZEBRA, ALPHA, MIDDLE = "uuid-1-zebra", "uuid-2-alpha", "uuid-3-middle"


def file(path: str, inode: int, track: int | None = None) -> ScannedEntry:
    tags = AudioTags(tidal_track_id=track) if track else None
    return ScannedEntry(path, EntryKind.FILE, size=1000, inode=inode, nlink=1, tags=tags)


def symlink(path: str, primary: str) -> ScannedEntry:
    target = os.path.relpath(primary, os.path.dirname(path))
    return ScannedEntry(path, EntryKind.SYMLINK, size=40, link_target=target)


def kinds(plan: Plan) -> list[tuple[ActionKind, str | None, str | None]]:
    return [(a.kind, a.source, a.target) for a in plan.actions]


def synced(playlists: list[tuple[str, str, tuple[int, ...]]]) -> LibraryState:
    """The state a finished sync of ``(uuid, name, tracks)`` leaves (folders = names)."""
    fresh = build_plan(
        LibraryState(
            playlists=tuple(PlaylistState(u, n, t) for u, n, t in playlists), tracks=TRACKS
        )
    )
    layout = fresh.diff.layout
    disk = {path: file(path, 10 + track, track) for track, path in layout.primary_path.items()}
    links = {}
    for (playlist, track), path in layout.entries.items():
        if layout.is_link(playlist, track):
            links[(playlist, track)] = path
            disk[path] = symlink(path, layout.primary_path[track])
    for path in layout.m3u8.values():
        disk[path] = file(path, 99)
    state = LibraryState(
        playlists=tuple(PlaylistState(u, n, t, folder=n, changed=False) for u, n, t in playlists),
        tracks=TRACKS,
        primaries=dict(layout.primary_path),
        links=links,
        disk=disk,
    )
    assert build_plan(state).actions == ()
    return state


def with_playlists(state: LibraryState, *playlists: PlaylistState) -> LibraryState:
    return LibraryState(
        playlists=playlists,
        tracks=state.tracks,
        primaries=state.primaries,
        links=state.links,
        disk=state.disk,
    )


def test_a_new_track_in_several_playlists_gets_its_primary_in_the_first_by_folder_name() -> None:
    state = LibraryState(
        playlists=(
            PlaylistState(ZEBRA, "zebra", (1,)),
            PlaylistState(ALPHA, "Alpha", (1,)),
            PlaylistState(MIDDLE, "middle", (1,)),
        ),
        tracks=TRACKS,
    )

    plan = build_plan(state)

    downloads = [a for a in plan.actions if a.kind is ActionKind.DOWNLOAD]
    assert [(a.playlist_id, a.target) for a in downloads] == [
        (ALPHA, "Playlists/Alpha/Ann - Song.flac")
    ]
    links = sorted(a.target or "" for a in plan.actions if a.kind is ActionKind.LINK)
    assert links == ["Playlists/middle/Ann - Song.flac", "Playlists/zebra/Ann - Song.flac"]


def test_a_valid_primary_never_moves_when_a_playlist_sorting_first_gains_the_track() -> None:
    state = synced([(MIDDLE, "middle", (1,))])

    plan = build_plan(
        with_playlists(
            state,
            PlaylistState(MIDDLE, "middle", (1,), folder="middle", changed=False),
            PlaylistState(ALPHA, "Alpha", (1,)),  # new, and first by folder name
        )
    )

    assert ActionKind.MOVE_PRIMARY not in plan.by_kind()
    assert plan.diff.layout.primary_path[1] == "Playlists/middle/Ann - Song.flac"
    assert (ActionKind.LINK, None, "Playlists/Alpha/Ann - Song.flac") in kinds(plan)


def test_when_the_primarys_playlist_drops_the_track_it_moves_to_the_next_playlist() -> None:
    state = synced([(ALPHA, "Alpha", (1, 2)), (MIDDLE, "middle", (1,)), (ZEBRA, "zebra", (1,))])

    plan = build_plan(
        with_playlists(
            state,
            PlaylistState(ALPHA, "Alpha", (2,), folder="Alpha"),
            PlaylistState(MIDDLE, "middle", (1,), folder="middle", changed=False),
            PlaylistState(ZEBRA, "zebra", (1,), folder="zebra", changed=False),
        )
    )

    assert (
        ActionKind.MOVE_PRIMARY,
        "Playlists/Alpha/Ann - Song.flac",
        "Playlists/middle/Ann - Song.flac",
    ) in kinds(plan)
    assert (ActionKind.LINK, None, "Playlists/zebra/Ann - Song.flac") in kinds(plan)
    assert not plan.removals  # the old primary path is a move's source, not trash


def test_a_renamed_playlist_renames_its_folder_and_repoints_links_across_it() -> None:
    state = synced([(ALPHA, "Alpha", (1,)), (ZEBRA, "zebra", (1,))])

    plan = build_plan(
        with_playlists(
            state,
            PlaylistState(ALPHA, "Omega", (1,), folder="Alpha"),  # now sorts after "zebra"
            PlaylistState(ZEBRA, "zebra", (1,), folder="zebra", changed=False),
        )
    )

    assert kinds(plan)[0] == (ActionKind.RENAME_FOLDER, "Playlists/Alpha", "Playlists/Omega")
    assert ActionKind.DOWNLOAD not in plan.by_kind()
    assert ActionKind.MOVE_PRIMARY not in plan.by_kind()  # valid primary stays, in "Omega"
    assert plan.diff.layout.primary_path[1] == "Playlists/Omega/Ann - Song.flac"
    # zebra's symlink pointed into Alpha/: it is re-made to point into Omega/.
    assert (ActionKind.LINK, None, "Playlists/zebra/Ann - Song.flac") in kinds(plan)
    # Only the M3U8 named after the old folder goes; the new one is written.
    assert [(a.kind, a.source) for a in plan.removals] == [
        (ActionKind.TRASH, "Playlists/Omega/Alpha.m3u8")
    ]
    assert (ActionKind.WRITE_M3U8, None, "Playlists/Omega/Omega.m3u8") in kinds(plan)


def test_an_unadopted_file_holding_another_tracks_name_is_not_overwritten() -> None:
    # Found by tests/test_plan_properties.py: Intro's local file sits at Song's wanted
    # name; Song's adoption used to clear (trash) it, then Intro "adopted" Song's audio.
    state = LibraryState(
        playlists=(PlaylistState(ALPHA, "Alpha", (1, 2)),),
        tracks=TRACKS,
        disk={
            "Playlists/Alpha/Ann - Song.flac": file("Playlists/Alpha/Ann - Song.flac", 5, 2),
            "Playlists/Inbox/a.flac": file("Playlists/Inbox/a.flac", 6, 1),
        },
        matches={"Playlists/Alpha/Ann - Song.flac": 2, "Playlists/Inbox/a.flac": 1},
    )

    plan = build_plan(state)

    targets = {a.target for a in plan.actions if a.kind is ActionKind.ADOPT}
    assert "Playlists/Alpha/Ann - Song.flac" not in targets
    assert targets == {"Playlists/Alpha/Ann - Song (2).flac", "Playlists/Alpha/Bob - Intro.flac"}


def test_the_guard_holds_a_plan_that_removes_more_than_the_share() -> None:
    state = synced([(ALPHA, "Alpha", (1, 2)), (ZEBRA, "zebra", (1, 2))])
    managed = len(set(state.primaries.values()) | set(state.links.values()))  # 4

    dropped_one = build_plan(
        with_playlists(
            state,
            PlaylistState(ALPHA, "Alpha", (1, 2), folder="Alpha", changed=False),
            PlaylistState(ZEBRA, "zebra", (1,), folder="zebra"),
        )
    )
    assert len(dropped_one.removals) == 1
    assert removal_hold(dropped_one, managed, max_share=0.2) is not None  # 1/4 > 20%
    assert removal_hold(dropped_one, managed, max_share=0.3) is None


def test_the_guard_holds_a_plan_that_removes_a_whole_playlist_folder() -> None:
    state = synced([(ALPHA, "Alpha", (1,)), (ZEBRA, "zebra", (2,))])

    plan = build_plan(
        with_playlists(
            state,
            PlaylistState(ALPHA, "Alpha", (1,), folder="Alpha", changed=False),
            PlaylistState(ZEBRA, "zebra", (2,), folder="zebra", removed=True),
        )
    )

    assert (ActionKind.REMOVE_FOLDER, "Playlists/zebra", None) in kinds(plan)
    reason = removal_hold(plan, managed_files=100, max_share=0.99)
    assert reason is not None and "Playlists/zebra" in reason


def test_a_deleted_playlist_whose_primary_moves_away_loses_its_folder_in_one_plan() -> None:
    # Fixed: the folder's primary is a move's source, and used to keep REMOVE_FOLDER
    # for the plan after, so planning right after a sync was not empty.
    state = synced([(ALPHA, "Alpha", (1,)), (ZEBRA, "zebra", (1,))])

    plan = build_plan(
        with_playlists(
            state,
            PlaylistState(ALPHA, "Alpha", (1,), folder="Alpha", removed=True),
            PlaylistState(ZEBRA, "zebra", (1,), folder="zebra", changed=False),
        )
    )

    assert (
        ActionKind.MOVE_PRIMARY,
        "Playlists/Alpha/Ann - Song.flac",
        "Playlists/zebra/Ann - Song.flac",
    ) in kinds(plan)
    assert (ActionKind.REMOVE_FOLDER, "Playlists/Alpha", None) in kinds(plan)
