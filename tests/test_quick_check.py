"""A sync where nothing changed decides so before it starts Dagster; any change runs it all.

The account: "Afternoon" [Alpha, Bravo, Charlie] and "Bounce" [Charlie, Delta]. Each test
syncs it until a sync finds the library in sync (the second sync: the first one's scan
predates its own downloads), then syncs again through ``tidal-sync sync`` and reads what
happened from the Dagster instance (did a run start?), the sandbox's request log, the
disk and ``tidal-sync status``. A quick sync starts no run, fetches no playlist's tracks
and writes nothing; every kind of change falls through to the full sync, which does the
work as before.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from dagster import DagsterInstance

from tests.fixtures.sync import (
    CliResult,
    SyncWorld,
    World,
    story_catalog,
    story_playlist,
    story_track,
)
from tidal_sync_assets.database import make_engine
from tidal_sync_assets.database.plan_store import latest_plan
from tidal_sync_assets.sandbox.catalog import Folder, playlist_from_dict
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.services.quick_check import what_changed
from tidal_sync_assets.settings import Settings

AFTERNOON = "0a0a0a0a-0000-4000-8000-00000000000a"
BOUNCE = "0b0b0b0b-0000-4000-8000-00000000000b"
ALPHA, BRAVO, CHARLIE, DELTA, ECHO = 1, 2, 3, 4, 5
PLAYLIST_TRACKS = r"^/v1/playlists/[^/?]+/(tracks|items)"


def in_sync_world(sync_world: World, env: dict[str, str] | None = None) -> SyncWorld:
    """The account synced until a sync found it in sync (that sync ran in full)."""
    world = sync_world(
        story_catalog(
            [
                story_track(ALPHA, "Alpha", "Ann"),
                story_track(BRAVO, "Bravo", "Ben"),
                story_track(CHARLIE, "Charlie", "Cat"),
                story_track(DELTA, "Delta", "Dan"),
                story_track(ECHO, "Echo", "Eve"),
            ],
            [
                story_playlist(AFTERNOON, "Afternoon", [ALPHA, BRAVO, CHARLIE], day=1),
                story_playlist(BOUNCE, "Bounce", [CHARLIE, DELTA], day=2),
            ],
        ),
        env=env,
    )
    first = world.sync()
    assert first.code == 0, first
    settling = synced(world)
    assert settling.runs == 1, "the sync after the first rescans what the first one placed"
    return world


class Synced:
    def __init__(self, result: CliResult, runs: int, track_pages: int) -> None:
        self.result = result
        self.runs = runs  # Dagster runs the sync started
        self.track_pages = track_pages  # playlist-track pages it asked TIDAL for

    def __repr__(self) -> str:
        return f"Synced({self.result!r}, runs={self.runs}, track_pages={self.track_pages})"


def runs(world: SyncWorld) -> int:
    with DagsterInstance.get() as instance:
        return instance.get_runs_count()


def synced(world: SyncWorld, *args: str) -> Synced:
    """``tidal-sync sync *args``, and what it cost."""
    world.sandbox.clear_log()
    before = runs(world)
    result = world.sync(*args)
    assert result.code == 0, result
    return Synced(result, runs(world) - before, len(world.requests(PLAYLIST_TRACKS)))


def why(world: SyncWorld) -> str | None:
    """What the quick check says now, asked directly (the same parts as the command)."""
    engine = make_engine(world.database_url)
    try:
        return what_changed(Settings.from_env(), engine)
    finally:
        engine.dispose()


def test_nothing_changed_the_sync_says_in_sync_without_a_run_and_status_stays(
    sync_world: World,
) -> None:
    world = in_sync_world(sync_world)
    status = world.cli("status")
    plan_before = latest_plan(world.engine)

    quiet = synced(world)

    assert quiet.runs == 0, "a sync where nothing changed started a Dagster run"
    assert quiet.track_pages == 0
    assert quiet.result.out.startswith("in sync (") and quiet.result.out.count("\n") == 1
    assert world.cli("status") == status
    assert latest_plan(world.engine) == plan_before  # nothing written
    world.check()


def test_the_quick_sync_does_not_even_import_dagster(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    check = (
        "import sys\n"
        "from tidal_sync_assets.cli import commands as cli\n"
        "code = cli.main(['sync'])\n"
        "print('dagster imported' if 'dagster' in sys.modules else 'no dagster')\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        env=world.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "no dagster", done.stdout


def test_a_changed_file_runs_the_full_sync(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    primary = world.primary(ALPHA)
    stat = primary.stat()
    os.utime(primary, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    assert why(world) == f"{primary.relative_to(world.root).as_posix()} changed on disk"
    full = synced(world)

    assert full.runs >= 1
    assert full.track_pages == 0  # TIDAL did not change: no playlist is fetched again
    world.check()


def test_a_new_file_of_the_users_runs_the_full_sync_and_stays(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    own = world.folder(BOUNCE) / "my notes.txt"
    own.write_text("cue points\n")

    assert why(world) is not None
    full = synced(world)

    assert full.runs >= 1
    assert own.read_text() == "cue points\n"
    world.check(user_files={BOUNCE: ["my notes.txt"]})
    assert synced(world).runs == 0  # and then it is in sync again


def test_a_deleted_link_runs_the_full_sync_which_puts_it_back(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    link = world.folder(BOUNCE) / world.primary(CHARLIE).name
    link.unlink()

    assert why(world) is not None
    assert synced(world).runs >= 1
    assert link.is_file()
    world.check()


def test_a_playlist_renamed_on_tidal_runs_the_full_sync(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    world.catalog.rename_playlist(BOUNCE, "Bounce Harder")

    assert why(world) is not None
    full = synced(world)

    assert full.runs >= 1
    assert world.folder(BOUNCE).name == "Bounce Harder"
    world.check()


def test_a_track_added_on_tidal_runs_the_full_sync(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    world.catalog.add_playlist_tracks(BOUNCE, [ECHO])

    assert why(world) == "the tracks of 'Bounce' changed on TIDAL"
    full = synced(world)

    assert full.runs >= 1 and full.track_pages >= 1
    assert ECHO in world.track_rows() and world.primary(ECHO).is_file()
    world.check()


def test_a_new_playlist_on_tidal_runs_the_full_sync_and_status_shows_it(
    sync_world: World,
) -> None:
    world = in_sync_world(sync_world)
    zen = "0d0d0d0d-0000-4000-8000-00000000000d"
    world.catalog.put_playlist(playlist_from_dict(story_playlist(zen, "Zen", [ECHO], day=4)))

    assert why(world) == "playlists were added on TIDAL or removed from it"
    assert synced(world).runs >= 1
    assert "Zen" in world.cli("status").out
    world.check()


def test_a_playlist_moved_to_a_tidal_folder_runs_the_full_sync(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    bounce = world.catalog.playlist(BOUNCE)
    assert bounce is not None
    world.catalog.folders = (Folder("f1", "Gigs", None),)
    world.catalog.put_playlist(dataclasses.replace(bounce, folder="f1"))  # lastUpdated stays

    assert why(world) == "a playlist moved to another folder on TIDAL"
    assert synced(world).runs >= 1
    assert synced(world).runs == 0


def test_a_track_favourited_on_tidal_runs_the_full_sync(sync_world: World) -> None:
    world = in_sync_world(sync_world, env={"TIDAL_SYNC_FAVORITE_TRACKS": "on"})
    world.catalog.add_favorite_track(ALPHA)
    world.catalog.add_favorite_track(ECHO)  # the newest

    assert why(world) == "the favourite tracks changed on TIDAL"
    assert synced(world).runs >= 1
    assert (world.folder("favorites:tracks") / world.primary(ECHO).name).exists()
    assert synced(world).runs == 1  # it rescans what it placed, as after any change
    assert synced(world).runs == 0


def test_a_failed_download_is_retried_by_the_next_sync(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    world.catalog.add_playlist_tracks(BOUNCE, [ECHO])
    world.sandbox.faults.add(FaultRule(path=rf"^/_audio/{ECHO}/", status=404, times=None))
    failed = world.sync()
    assert failed.code == 1, failed
    world.sandbox.faults.clear()

    assert why(world) is not None  # the last plan has an action that failed
    retried = synced(world)

    assert retried.runs >= 1
    assert world.primary(ECHO).is_file()
    world.check()


@pytest.mark.parametrize(
    ("variable", "value", "rescans"),
    [
        ("TIDAL_SYNC_QUALITY", "HIGH", 0),
        ("TIDAL_SYNC_LINK_MODE", "hardlink", 1),  # every link is made again, then rescanned
        ("TIDAL_SYNC_M3U8_PATHS", "primary", 1),  # every M3U8 is written again, then rescanned
        ("TIDAL_SYNC_KEY_NOTATION", "camelot", 0),
        ("TIDAL_SYNC_REKORDBOX_XML", "off", 0),
        ("TIDAL_SYNC_FAVORITE_PLAYLISTS", "on", 0),
    ],
)
def test_a_changed_setting_runs_the_full_sync(
    sync_world: World, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, rescans: int
) -> None:
    world = in_sync_world(sync_world)
    monkeypatch.setenv(variable, value)

    assert why(world) is not None
    assert synced(world).runs >= 1
    assert [synced(world).runs for _ in range(rescans + 1)][-1] == 0  # in sync under them


def test_a_setting_that_only_paces_the_sync_keeps_it_quick(
    sync_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = in_sync_world(sync_world)
    monkeypatch.setenv("TIDAL_SYNC_DOWNLOAD_WORKERS", "2")
    monkeypatch.setenv("TIDAL_SYNC_RATE_LIMIT", "50")

    assert why(world) is None
    assert synced(world).runs == 0


def test_a_dry_run_or_one_playlist_never_takes_the_quick_path(sync_world: World) -> None:
    world = in_sync_world(sync_world)

    dry = synced(world, "--dry-run")
    one = synced(world, "--playlist", "Bounce")

    assert dry.runs == 1 and "dry run: 0 actions planned" in dry.result.out
    assert one.runs == 1 and one.result.out.startswith("Bounce in sync")


def test_tidal_not_answering_runs_the_full_sync_which_says_so(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    world.sandbox.faults.add(FaultRule(path=r"^/v1/users/\d+/playlists", status=503, times=None))

    assert why(world) is not None
    result = world.sync()

    assert result.code == 1
    assert "TIDAL could not be reached" in result.err


def test_a_missing_root_is_reported_as_before(sync_world: World) -> None:
    world = in_sync_world(sync_world)
    moved = world.root.with_name("elsewhere")
    world.root.rename(moved)

    result = world.sync()

    assert result.code == 3
    assert "does not exist" in result.err
    assert not world.root.exists()
