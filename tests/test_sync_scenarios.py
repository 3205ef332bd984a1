"""Stories of a DJ's TIDAL account changing, each synced end to end in every link mode.

The account: "Afternoon" [Alpha, Bravo, Charlie], "Bounce" [Charlie, Delta] and "Chill"
[Charlie, Echo]. Charlie sits in all three: its one real file lives in "Afternoon" (first
by folder name), "Bounce" and "Chill" link to it. Each test syncs that library once, changes
the account on the sandbox TIDAL, syncs again through `tidal-sync sync` and reads the
library back from disk.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.library import make_audio
from tests.fixtures.sync import (
    SyncWorld,
    World,
    disk_state,
    story_catalog,
    story_playlist,
    story_track,
)
from tidal_sync_assets.sandbox.catalog import Track, playlist_from_dict, track_from_dict
from tidal_sync_assets.settings import LINK_MODES

AFTERNOON = "0a0a0a0a-0000-4000-8000-00000000000a"
BOUNCE = "0b0b0b0b-0000-4000-8000-00000000000b"
CHILL = "0c0c0c0c-0000-4000-8000-00000000000c"
ZEN = "0d0d0d0d-0000-4000-8000-00000000000d"
ALPHA, BRAVO, CHARLIE, DELTA, ECHO, FOXTROT = 1, 2, 3, 4, 5, 6

every_link_mode = pytest.mark.parametrize("link_mode", LINK_MODES)


def the_account() -> list[dict[str, object]]:
    return [
        story_track(ALPHA, "Alpha", "Ann"),
        story_track(BRAVO, "Bravo", "Ben"),
        story_track(CHARLIE, "Charlie", "Cat"),
        story_track(DELTA, "Delta", "Dan"),
        story_track(ECHO, "Echo", "Eve"),
    ]


def synced_world(sync_world: World, **track_changes: dict[str, object]) -> SyncWorld:
    """The account above, synced once; ``track_changes`` overrides tracks' fields by title."""
    tracks = [{**t, **track_changes.get(str(t["title"]), {})} for t in the_account()]
    world = sync_world(
        story_catalog(
            tracks,
            [
                story_playlist(AFTERNOON, "Afternoon", [ALPHA, BRAVO, CHARLIE], day=1),
                story_playlist(BOUNCE, "Bounce", [CHARLIE, DELTA], day=2),
                story_playlist(CHILL, "Chill", [CHARLIE, ECHO], day=3),
            ],
        )
    )
    return world


def first_sync(world: SyncWorld) -> None:
    result = world.sync()
    assert result.code == 0, result
    world.check()
    world.sandbox.clear_log()


def new_track(track_id: int, title: str, artist: str) -> Track:
    return track_from_dict(story_track(track_id, title, artist))


@every_link_mode
def test_a_track_in_three_playlists_is_stored_once_with_two_links(sync_world: World) -> None:
    world = synced_world(sync_world)

    result = world.sync()

    assert result.code == 0, result
    report = world.check()
    primary = report.primaries[CHARLIE]
    assert primary.parent.name == "Afternoon"
    assert world.primary(CHARLIE) == primary
    assert [t for t in world.downloads() if t == CHARLIE] == [CHARLIE]


@every_link_mode
def test_a_new_playlist_gets_its_folder_and_links_and_only_new_tracks_download(
    sync_world: World,
) -> None:
    world = synced_world(sync_world)
    first_sync(world)
    world.catalog.put_track(new_track(FOXTROT, "Foxtrot", "Fay"))
    world.catalog.put_playlist(
        playlist_from_dict(story_playlist(ZEN, "Zen", [ECHO, FOXTROT, ALPHA], day=9))
    )

    result = world.sync()

    assert result.code == 0, result
    report = world.check()
    assert world.folder(ZEN).name == "Zen"
    assert sorted(report.entries[ZEN]) == [ALPHA, ECHO, FOXTROT]
    assert world.downloads() == [FOXTROT]


@every_link_mode
def test_a_track_added_to_a_playlist_links_to_its_existing_primary(sync_world: World) -> None:
    world = synced_world(sync_world)
    first_sync(world)
    delta_primary = world.primary(DELTA)
    world.catalog.put_track(new_track(FOXTROT, "Foxtrot", "Fay"))
    world.catalog.add_playlist_tracks(AFTERNOON, [DELTA, FOXTROT])

    result = world.sync()

    assert result.code == 0, result
    # Delta's primary stays valid in "Bounce", so it does not move to "Afternoon".
    report = world.check(primaries_by_folder_name=False)
    assert report.primaries[DELTA] == delta_primary
    assert report.primaries[FOXTROT].parent.name == "Afternoon"
    assert world.downloads() == [FOXTROT]


@every_link_mode
def test_a_track_removed_from_its_only_playlist_goes_to_the_trash_and_can_be_restored(
    sync_world: World,
) -> None:
    world = synced_world(sync_world)
    first_sync(world)
    bravo = world.primary(BRAVO)
    content = bravo.read_bytes()
    world.catalog.remove_playlist_tracks(AFTERNOON, [BRAVO])

    result = world.sync()

    assert result.code == 0, result
    world.check()
    assert not bravo.exists()
    manifest = world.root / ".tidal-sync" / "trash" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    original = bravo.relative_to(world.root).as_posix()
    assert [e["original_path"] for e in entries] == [original]
    trashed = world.root / entries[0]["trash_path"]
    assert trashed.read_bytes() == content

    listed = world.cli("trash", "list")
    assert listed.code == 0 and original in listed.out

    restored = world.cli("trash", "restore")
    assert restored.code == 0, restored
    assert bravo.read_bytes() == content
    assert not trashed.exists()
    # The next sync leaves the restored file be: no playlist wants it, but it is not
    # the product's any more (the user put it back).
    assert world.sync().code == 0
    assert bravo.read_bytes() == content


@every_link_mode
def test_the_primarys_playlist_drops_the_track_and_the_file_moves_to_the_next_playlist(
    sync_world: World,
) -> None:
    world = synced_world(sync_world)
    first_sync(world)
    inode = world.primary(CHARLIE).stat().st_ino
    world.catalog.remove_playlist_tracks(AFTERNOON, [CHARLIE])

    result = world.sync()

    assert result.code == 0, result
    report = world.check()
    primary = report.primaries[CHARLIE]
    assert primary.parent.name == "Bounce"
    assert CHARLIE not in report.entries[AFTERNOON]
    assert primary.stat().st_ino == inode  # moved, not downloaded again
    assert world.audio_requests() == []


@every_link_mode
def test_a_renamed_playlist_has_its_folder_renamed_and_nothing_downloaded(
    sync_world: World,
) -> None:
    world = synced_world(sync_world)
    first_sync(world)
    old_folder = world.folder(AFTERNOON)
    inodes = {t: world.primary(t).stat().st_ino for t in (ALPHA, BRAVO, CHARLIE)}
    world.catalog.rename_playlist(AFTERNOON, "Wake Up")

    result = world.sync()

    assert result.code == 0, result
    # Primaries that stay valid never move, even though "Wake Up" now sorts last.
    report = world.check(primaries_by_folder_name=False)
    assert world.folder(AFTERNOON).name == "Wake Up"
    assert not old_folder.exists()
    assert {t: report.primaries[t].stat().st_ino for t in inodes} == inodes
    assert all(report.primaries[t].parent.name == "Wake Up" for t in inodes)
    assert (world.folder(AFTERNOON) / "Wake Up.m3u8").is_file()
    assert world.audio_requests() == []


@every_link_mode
def test_a_deleted_playlist_is_held_then_trashed_leaving_the_users_own_file(
    sync_world: World,
) -> None:
    world = synced_world(sync_world)
    first_sync(world)
    chill = world.folder(CHILL)
    notes = chill / "my set notes.txt"
    notes.write_text("play Echo last\n")
    echo = world.primary(ECHO)
    world.catalog.remove_playlist(CHILL)

    held = world.sync()

    assert held.code == 2, held
    assert "--allow-mass-removal" in held.err
    assert echo.exists()

    result = world.sync("--allow-mass-removal")

    assert result.code == 0, result
    assert sorted(p.name for p in chill.iterdir()) == ["my set notes.txt"]
    assert notes.read_text() == "play Echo last\n"
    manifest = world.root / ".tidal-sync" / "trash" / "manifest.jsonl"
    trashed = {json.loads(line)["original_path"] for line in manifest.read_text().splitlines()}
    assert echo.relative_to(world.root).as_posix() in trashed
    world.check()
    assert world.audio_requests() == []


def test_deleting_one_small_playlist_of_many_is_held_until_allowed(sync_world: World) -> None:
    # Eight playlists of two tracks each; "Chill" is deleted on TIDAL. Its files are under
    # the 20% share of the library and its folder stays (the DJ's notes are in it), but a
    # whole playlist goes: held all the same.
    names = ["Afternoon", "Bounce", "Chill", "Dusk", "Evening", "Fog", "Glow", "Haze"]
    uuids = [f"0{n}0{n}0{n}0{n}-0000-4000-8000-00000000000{n}" for n in "abcdefgh"]
    tracks = [story_track(n, f"Song {n}", f"Artist {n}") for n in range(1, 17)]
    playlists = [
        story_playlist(uuid, name, [2 * i + 1, 2 * i + 2], day=i + 1)
        for i, (uuid, name) in enumerate(zip(uuids, names, strict=True))
    ]
    world = sync_world(story_catalog(tracks, playlists))
    first_sync(world)
    chill = world.folder(CHILL)
    (chill / "my set notes.txt").write_text("play Song 6 last\n")
    world.catalog.remove_playlist(CHILL)
    before = disk_state(world.root)

    held = world.sync()

    assert held.code == 2, held
    assert '"Chill"' in held.err
    assert "--allow-mass-removal" in held.err and "dedup_plan" in held.err
    assert disk_state(world.root) == before

    result = world.sync("--allow-mass-removal")

    assert result.code == 0, result
    assert sorted(p.name for p in chill.iterdir()) == ["my set notes.txt"]
    manifest = world.root / ".tidal-sync" / "trash" / "manifest.jsonl"
    trashed = {json.loads(line)["original_path"] for line in manifest.read_text().splitlines()}
    assert {f"Playlists/Chill/Artist {n} - Song {n}.flac" for n in (5, 6)} <= trashed
    world.check()
    assert world.audio_requests() == []


@every_link_mode
def test_an_untagged_local_copy_is_adopted_instead_of_downloaded(sync_world: World) -> None:
    world = synced_world(sync_world, Alpha={"duration": 3})
    # The DJ already owns Alpha: a real, untagged FLAC named the usual way, 2.5 s long
    # (TIDAL says 3 s: within the 2 s the SPEC allows), in a folder named like the playlist.
    local = make_audio(world.root / "Playlists" / "Afternoon" / "Ann - Alpha.flac", "flac", 2.5)
    inode = local.stat().st_ino

    result = world.sync()

    assert result.code == 0, result
    report = world.check()
    assert report.primaries[ALPHA] == local
    assert local.stat().st_ino == inode
    assert sorted(world.downloads()) == [BRAVO, CHARLIE, DELTA, ECHO]
    before = disk_state(world.root)
    world.sandbox.clear_log()
    assert world.sync().code == 0
    assert disk_state(world.root) == before
    assert world.audio_requests() == []


@every_link_mode
def test_names_that_collide_after_sanitizing_or_by_case_get_distinct_folders_and_files(
    sync_world: World,
) -> None:
    tracks = [
        story_track(ALPHA, "Who?", "Ann"),
        story_track(BRAVO, "Who_", "Ann"),
        story_track(CHARLIE, "who?", "ann"),
        story_track(DELTA, "Delta", "Dan"),
    ]
    world = sync_world(
        story_catalog(
            tracks,
            [
                story_playlist(AFTERNOON, "Deep House", [ALPHA, BRAVO, CHARLIE], day=1),
                story_playlist(BOUNCE, "deep house", [ALPHA, DELTA], day=2),
                story_playlist(CHILL, "AC/DC", [BRAVO, DELTA], day=3),
                story_playlist(ZEN, "AC_DC", [CHARLIE], day=4),
            ],
        )
    )

    result = world.sync()

    assert result.code == 0, result
    report = world.check()
    folders = [f.name for f in report.folders.values()]
    assert len({f.casefold() for f in folders}) == 4, folders
    names = [p.name for p in report.entries[AFTERNOON].values()]
    assert len({n.casefold() for n in names}) == 3, names
    assert world.sync().code == 0  # and stays put: the names are stable
    assert sorted(f.name for f in report.folders.values()) == sorted(folders)
    world.check()
