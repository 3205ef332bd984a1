"""Reliability, process faults: `tidal-sync sync` SIGKILLed at its worst moments loses nothing.

Each case runs the sync in a process of its own, holds it at a chosen point with a sandbox
"slow" fault (so the moment is predictable, not a race), kills it with SIGKILL, and then
checks the suite's invariants, which include that the next sync converges.
"""

from __future__ import annotations

import random
import re
import signal
import time

import filelock
import pytest
from sqlalchemy import select

from tests.fixtures.reliability import (
    AFTERNOON,
    ALPHA,
    BOUNCE,
    BRAVO,
    CHARLIE,
    DELTA,
    FOXTROT,
    Reliability,
    Spawn,
    new_track,
    small_account,
    synced,
)
from tests.fixtures.sync import SyncWorld, World
from tidal_sync_assets.database import Playlist, PlaylistTrack
from tidal_sync_assets.sandbox.faults import FaultRule

pytestmark = pytest.mark.slow

HOLD = 60.0  # a "slow" fault that outlasts the case: the process is killed long before


def change_everything(world: SyncWorld) -> None:
    """A rename, a primary that moves, a new track and new links, all in one sync."""
    world.catalog.rename_playlist(AFTERNOON, "Zulu Afternoon")  # its primaries stay put
    world.catalog.remove_playlist_tracks(AFTERNOON, [CHARLIE])  # Charlie moves to "Bounce"
    world.catalog.put_track(new_track(FOXTROT, "Foxtrot", "Fay"))
    world.catalog.add_playlist_tracks(BOUNCE, [FOXTROT, ALPHA])  # a download and a link


def test_killed_mid_download_leaves_no_partial_file(
    sync_world: World, reliability: Reliability, spawn: Spawn
) -> None:
    world = sync_world(small_account())
    case = reliability("process", world)
    world.sandbox.faults.add(
        FaultRule(path=r"^/_audio/", kind="slow", delay=HOLD, during_body=True, times=1)
    )
    child = spawn(world)

    child.wait_until(lambda: bool(world.audio_requests()))
    time.sleep(0.3)  # the slow body has begun; other downloads may have finished
    assert child.kill() == -signal.SIGKILL

    case.check()


def test_killed_between_a_folder_rename_a_move_and_the_links(
    sync_world: World, reliability: Reliability, spawn: Spawn
) -> None:
    world = synced(sync_world(small_account()))
    change_everything(world)
    case = reliability("process", world)
    # Folder renames and the move of Charlie's primary happen before the pool's downloads
    # finish; the links wait for the pool. Foxtrot's download hangs: the kill lands after
    # the rename and the move and before any link or M3U8 is written.
    world.sandbox.faults.add(
        FaultRule(path=rf"^/_audio/{FOXTROT}\b", kind="slow", delay=HOLD, times=1)
    )
    child = spawn(world)

    child.wait_until(lambda: bool(world.audio_requests()))
    time.sleep(0.3)
    child.kill()

    assert world.folder(AFTERNOON).name in ("Afternoon", "Zulu Afternoon")
    case.check()
    assert world.folder(AFTERNOON).name == "Zulu Afternoon"
    assert world.primary(CHARLIE).parent.name == "Bounce"


def test_killed_at_random_points_of_a_sync_over_several_runs(
    sync_world: World, reliability: Reliability, spawn: Spawn
) -> None:
    world = synced(sync_world(small_account()))
    change_everything(world)
    world.catalog.add_playlist_tracks(AFTERNOON, [DELTA])
    case = reliability("process", world)
    # Every TIDAL answer takes a little while, so the library run spans a second or
    # two and a random point in it lands on moves, renames, links or downloads alike.
    world.sandbox.faults.add(
        FaultRule(path=r"^/(_audio|v1/tracks)/", kind="slow", delay=0.15, times=None)
    )
    chance = random.Random(20240501)
    for _ in range(3):
        child = spawn(world)
        deadline = time.monotonic() + 60
        # The library run has begun once a track is asked for (a run the kills before
        # left with nothing to fetch just finishes: that is fine too).
        while not world.requests(r"^/v1/tracks/") and child.process.poll() is None:
            assert time.monotonic() < deadline, child.output()
            time.sleep(0.02)
        time.sleep(chance.uniform(0.0, 1.2))
        child.kill()
        world.sandbox.clear_log()
        case.check(converge=False)
    world.sandbox.faults.clear()

    case.check()


def test_killed_while_the_planning_run_stores_the_tidal_snapshot(
    sync_world: World, reliability: Reliability, spawn: Spawn
) -> None:
    world = synced(sync_world(small_account()))
    change_everything(world)
    case = reliability("process", world)
    # The planning run hangs in the middle of the TIDAL snapshot (the second playlist's
    # tracks), with the first playlist already fetched: then it is killed.
    world.sandbox.faults.add(
        FaultRule(path=rf"^/v1/playlists/{BOUNCE}/(tracks|items)", kind="slow", delay=HOLD)
    )
    child = spawn(world)

    child.wait_until(lambda: bool(world.requests(rf"^/v1/playlists/{BOUNCE}/(tracks|items)")))
    time.sleep(0.2)
    child.kill()

    assert not re.search(r"Zulu", " ".join(p.name for p in (world.root / "Playlists").iterdir()))
    case.check()


def test_killed_before_its_links_were_written_down(
    sync_world: World, reliability: Reliability, spawn: Spawn
) -> None:
    """The executor writes its bookkeeping in batches: links made since the last batch are
    on disk but not in the database when the process dies. The next sync finds them from
    the plan and records them, so they are not taken for the user's own files (which
    would push the links under other names and leave the old ones behind forever)."""
    world = synced(sync_world(small_account()))
    # "Bounce" gains two links (their primaries are Afternoon's) and drops Delta, whose
    # only file goes to the trash after the links: the trash's lock, held here, stops
    # the sync right there, links made, none of them written down yet.
    world.catalog.update_playlist(BOUNCE, track_ids=[CHARLIE, ALPHA, BRAVO])
    case = reliability("process", world)
    bounce = world.folder(BOUNCE)
    trash_lock = filelock.FileLock(world.root / ".tidal-sync" / "locks" / "trash-manifest.lock")
    with trash_lock:
        child = spawn(world)
        child.wait_until(lambda: len([p for p in bounce.iterdir() if p.is_symlink()]) >= 3)
        time.sleep(0.5)
        child.kill()
    assert _recorded_links(world, BOUNCE) == 1  # Charlie's, from the first sync

    case.check()
    assert sorted(p.name for p in bounce.iterdir()) == [
        "Ann - Alpha.flac",
        "Ben - Bravo.flac",
        "Bounce.m3u8",
        "Cat - Charlie.flac",
    ]
    assert _recorded_links(world, BOUNCE) == 3


def _recorded_links(world: SyncWorld, playlist: str) -> int:
    with world.engine.connect() as connection:
        return len(
            connection.execute(
                select(PlaylistTrack.symlink_path)
                .join(Playlist, Playlist.id == PlaylistTrack.playlist_id)
                .where(Playlist.tidal_id == playlist, PlaylistTrack.symlink_path.is_not(None))
            ).all()
        )
