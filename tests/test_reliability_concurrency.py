"""Reliability, concurrency: two syncs on one library, and a database someone else writes.

A second sync waits for the library lock and then runs, or — when the first holds it
longer than it will wait — says who holds it (exit 3). Neither corrupts anything. A
product database locked by another writer makes the sync wait, not fail.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import make_url

from tests.fixtures.reliability import (
    ALPHA,
    CHILL,
    FOXTROT,
    Reliability,
    Spawn,
    new_track,
    small_account,
    synced,
)
from tests.fixtures.sync import World
from tidal_sync_assets.sandbox.faults import FaultRule


@pytest.mark.slow
@pytest.mark.parametrize(("hold", "code"), [(3.0, 0), (14.0, 3)], ids=["waits", "refuses"])
def test_two_syncs_at_once_one_waits_or_refuses_and_nothing_is_corrupted(
    sync_world: World,
    reliability: Reliability,
    spawn: Spawn,
    hold: float,
    code: int,
) -> None:
    world = sync_world(small_account())
    case = reliability("concurrency", world)
    world.sandbox.faults.add(
        FaultRule(path=r"^/_audio/", kind="slow", delay=hold, during_body=True, times=1)
    )
    first = spawn(world)
    first.wait_until(lambda: bool(world.audio_requests()))

    second = world.sync()  # waits up to 10 s for the library lock

    assert second.code == code, second
    if code == 3:
        assert "another sync holds the library" in second.err
        assert f"pid {first.pid}" in second.err
    assert first.finish() == 0, first.output()
    case.check()


def test_a_database_locked_by_another_writer_makes_the_sync_wait(
    sync_world: World, reliability: Reliability
) -> None:
    world = synced(sync_world(small_account()))
    world.catalog.put_track(new_track(FOXTROT, "Foxtrot", "Fay"))
    world.catalog.add_playlist_tracks(CHILL, [FOXTROT, ALPHA])
    case = reliability("concurrency", world)
    database = make_url(world.database_url).database
    locked, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        connection = sqlite3.connect(str(database), timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE playlists SET description = description")
            locked.set()
            release.wait(3.0)
            connection.execute("COMMIT")
        finally:
            connection.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert locked.wait(10)
    started = time.monotonic()
    try:
        result = world.sync()
    finally:
        release.set()
        writer.join()

    assert result.code == 0, result
    assert time.monotonic() - started >= 2.5  # it did wait for the other writer
    case.check()
