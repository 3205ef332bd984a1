"""Reliability, TIDAL faults: a misbehaving TIDAL never costs the library a file.

Rate-limit storms, 5xx, connection resets, stalled and cut bodies, a token that expires
mid-run and a playlist list that comes back short or empty, each injected by the sandbox
on the wire while `tidal-sync sync` runs against it.
"""

from __future__ import annotations

import json

import pytest
from dagster import DagsterInstance
from sqlalchemy import select

from tests.fixtures.reliability import (
    AFTERNOON,
    ALPHA,
    BOUNCE,
    BRAVO,
    CHARLIE,
    CHILL,
    DELTA,
    ECHO,
    Reliability,
    small_account,
    synced,
)
from tests.fixtures.sync import SyncWorld, World, disk_state, without_progress
from tidal_sync_assets.database import DownloadStatus, Playlist
from tidal_sync_assets.sandbox.faults import FaultRule

# Each case is a whole sync or two, some with seconds of Retry-After and backoff.
pytestmark = pytest.mark.slow


def answered(world: SyncWorld, status: int) -> int:
    return sum(1 for _, _, s in world.sandbox.request_log if s == status)


@pytest.mark.parametrize("retry_after", [1, None], ids=["retry-after", "no-retry-after"])
def test_a_429_storm_is_waited_out(
    sync_world: World, reliability: Reliability, retry_after: int | None
) -> None:
    world = sync_world(small_account())
    case = reliability("tidal", world)
    for path in (r"^/v1/", rf"^/v1/playlists/{BOUNCE}/", r"^/_audio/", r"^/v1/tracks/"):
        world.sandbox.faults.add(
            FaultRule(path=path, kind="status", status=429, retry_after=retry_after, times=2)
        )

    result = world.sync()

    assert result.code == 0, result
    assert answered(world, 429) == 8
    case.check()


def test_six_429s_in_a_row_on_every_kind_of_request_are_waited_out(
    sync_world: World, reliability: Reliability, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Six answers of 429 in a row to the playlist list (the old budget was five attempts),
    # and more on a playlist's track page, playback info and audio.
    world = sync_world(small_account())
    case = reliability("tidal", world)
    monkeypatch.setenv("TIDAL_SYNC_PATIENCE", "30")
    for path, times, wait in [
        (r"^/v1/users/\d+/playlists", 6, 1),
        (rf"^/v1/playlists/{BOUNCE}/", 2, 1),
        (r"^/v1/tracks/", 2, 1),
        (r"^/_audio/", 1, 2),
    ]:
        world.sandbox.faults.add(
            FaultRule(path=path, kind="status", status=429, retry_after=wait, times=times)
        )

    result = world.sync()

    assert result.code == 0, result
    assert answered(world, 429) == 11
    assert "tidal-sync: rate limited by TIDAL, waiting 1 s" in result.err
    assert "tidal-sync: rate limited by TIDAL, waiting 2 s" in result.err
    instance = DagsterInstance.get()
    run_log = [
        event.user_message
        for record in instance.get_run_records()
        for event in instance.all_logs(record.dagster_run.run_id)
    ]
    assert "rate limited by TIDAL, waiting 1 s" in run_log
    case.check()


def test_a_rate_limit_longer_than_the_patience_fails_in_one_sentence(
    sync_world: World, reliability: Reliability, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = sync_world(small_account())
    case = reliability("tidal", world)
    monkeypatch.setenv("TIDAL_SYNC_PATIENCE", "3")
    world.sandbox.faults.add(
        FaultRule(path=r"^/v1/", kind="status", status=429, retry_after=2, times=None)
    )
    before = disk_state(world.root)

    result = world.sync()

    assert result.code == 1, result
    errors = [line for line in without_progress(result.err).splitlines() if "waiting" not in line]
    assert len(errors) == 1, result.err
    assert "rate limited for longer than the 3 s TIDAL_SYNC_PATIENCE allows" in errors[0]
    assert errors[0].endswith(".") and ". " not in errors[0]  # one sentence
    assert "tidal-sync: rate limited by TIDAL, waiting 2 s" in result.err
    tokens = json.loads(world.session_file.read_text())
    for key in ("access_token", "refresh_token"):
        assert tokens[key]["data"] not in result.err + result.out
    assert disk_state(world.root) == before
    world.sandbox.faults.clear()
    case.check()


def test_5xx_on_a_tenth_of_requests_fails_only_what_keeps_failing(
    sync_world: World, reliability: Reliability
) -> None:
    world = sync_world(small_account())
    case = reliability("tidal", world)
    # Passing 5xx on some requests of every kind (retried away) ...
    for path, status in [
        (r"^/v1/users/\d+/playlists", 500),
        (rf"^/v1/playlists/{CHILL}/", 502),
        (rf"^/_audio/{ALPHA}\b", 503),
        (rf"^/v1/tracks/{DELTA}/", 504),
    ]:
        world.sandbox.faults.add(FaultRule(path=path, kind="status", status=status, times=1))
    # ... and one track whose audio never comes.
    world.sandbox.faults.add(
        FaultRule(path=rf"^/_audio/{ECHO}\b", kind="status", status=500, times=None)
    )

    result = world.sync()

    assert result.code == 1, result
    assert "Chill failed" in result.err
    assert "Afternoon" not in result.err and "Bounce" not in result.err
    world.sandbox.faults.clear()
    case.check()


def test_connection_resets_are_retried(sync_world: World, reliability: Reliability) -> None:
    world = sync_world(small_account())
    case = reliability("tidal", world)
    for path in (r"^/v1/sessions", rf"^/v1/playlists/{AFTERNOON}/", r"^/v1/tracks/", r"^/_audio/"):
        world.sandbox.faults.add(FaultRule(path=path, kind="reset", times=2))

    result = world.sync()

    assert result.code == 0, result
    assert answered(world, 0) == 8
    case.check()


def test_bodies_slower_than_the_timeout_are_given_up_and_retried(
    sync_world: World, reliability: Reliability, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = sync_world(small_account())
    monkeypatch.setenv("TIDAL_SYNC_HTTP_TIMEOUT", "0.5")
    case = reliability("tidal", world)
    for path in (rf"^/v1/playlists/{BOUNCE}/(tracks|items)", r"^/v1/tracks/", r"^/_audio/"):
        world.sandbox.faults.add(
            FaultRule(path=path, kind="slow", delay=2.0, during_body=True, times=1)
        )

    result = world.sync()

    assert result.code == 0, result
    case.check()


def test_truncated_audio_never_reaches_a_final_name(
    sync_world: World, reliability: Reliability
) -> None:
    world = sync_world(small_account())
    case = reliability("tidal", world)
    world.sandbox.faults.add(
        FaultRule(path=r"^/_audio/", kind="truncate", after_bytes=300, times=3)
    )

    result = world.sync()

    assert result.code == 0, result
    case.check()


def test_an_unreadable_manifest_fails_its_track_and_the_next_sync_stores_it(
    sync_world: World, reliability: Reliability
) -> None:
    world = sync_world(small_account())
    case = reliability("tidal", world)
    # TIDAL answers Echo's playback info with a manifest cut short (not valid base64).
    world.sandbox.faults.add(
        FaultRule(
            path=rf"^/v1/tracks/{ECHO}/playback", kind="bad_manifest", after_bytes=99, times=None
        )
    )

    result = world.sync()

    assert result.code == 1, result
    assert "Chill failed" in result.err
    assert "Afternoon" not in result.err and "Bounce" not in result.err
    echo = world.track_rows()[ECHO]
    assert echo.download_status == DownloadStatus.ERROR
    assert "ManifestDecodeError" in echo.download_error
    assert "cannot be downloaded" not in echo.download_error  # a failure, not unavailable
    assert echo.file_path is None
    assert not any(f"/_audio/{ECHO}" in path for path in world.audio_requests())

    world.sandbox.faults.clear()
    result = world.sync()

    assert result.code == 0, result
    echo = world.track_rows()[ECHO]
    assert echo.download_status == DownloadStatus.DOWNLOADED
    assert world.primary(ECHO).is_file()
    case.check()


# TIDAL's answers to a track it lists as streamable but will not play to this account.
REFUSALS = {
    401: FaultRule(
        path=rf"^/v1/tracks/{ECHO}/playback",
        status=401,
        sub_status=4005,
        message="Asset is not ready for playback",
        times=None,
    ),
    403: FaultRule(path=rf"^/v1/tracks/{ECHO}/playback", status=403, times=None),
}


@pytest.mark.parametrize("status", sorted(REFUSALS))
def test_a_track_tidal_refuses_to_play_is_recorded_unavailable_and_the_sync_succeeds(
    sync_world: World, reliability: Reliability, status: int
) -> None:
    world = sync_world(small_account())
    case = reliability("tidal", world)
    world.sandbox.faults.add(REFUSALS[status])

    result = world.sync()

    assert result.code == 0, result
    assert "failed" not in without_progress(result.err), result.err
    answered = {(path.partition("?")[0], s) for _, path, s in world.sandbox.request_log}
    assert (f"/v1/tracks/{ECHO}/playbackinfopostpaywall", status) in answered
    rows = world.track_rows()
    echo = rows[ECHO]
    assert echo.download_status == DownloadStatus.ERROR and echo.file_path is None
    assert f"cannot be downloaded: TIDAL refuses to stream it ({status})" in echo.download_error
    assert not any(f"/_audio/{ECHO}/" in path for path in world.audio_requests())
    for other in (ALPHA, BRAVO, CHARLIE, DELTA):
        assert rows[other].download_status == DownloadStatus.DOWNLOADED
        assert world.primary(other).is_file()
    chill = world.folder(CHILL)
    assert sorted(p.name for p in chill.iterdir()) == ["Cat - Charlie.flac", "Chill.m3u8"]
    assert "Echo" not in (chill / "Chill.m3u8").read_text()

    # TIDAL plays it again: the next sync stores it.
    world.sandbox.faults.clear()
    case.check()
    assert world.track_rows()[ECHO].download_status == DownloadStatus.DOWNLOADED


def test_an_access_token_that_expires_mid_run_is_refreshed(
    sync_world: World, reliability: Reliability
) -> None:
    world = synced(sync_world(small_account()))
    before = json.loads(world.session_file.read_text())["access_token"]["data"]
    world.catalog.add_playlist_tracks(CHILL, [ALPHA, DELTA])
    case = reliability("tidal", world)
    world.sandbox.faults.add(FaultRule(path=rf"^/v1/playlists/{CHILL}/", kind="expire_token"))
    world.sandbox.faults.add(FaultRule(path=r"^/v1/tracks/", kind="expire_token"))

    result = world.sync()

    assert result.code == 0, result
    after = json.loads(world.session_file.read_text())["access_token"]["data"]
    assert after != before
    assert world.session_file.stat().st_mode & 0o777 == 0o600
    case.check()


def test_a_playlist_list_that_skips_a_playlist_holds_the_sync_and_deletes_nothing(
    sync_world: World, reliability: Reliability
) -> None:
    # TIDAL's list announces three playlists but its first page skips one: paged by
    # offset, the second page repeats one, so only two distinct playlists come back.
    world = synced(sync_world(small_account()))
    case = reliability("tidal", world)
    world.sandbox.faults.add(
        FaultRule(path=r"^/v1/users/\d+/playlists", kind="short", drop_items=1, times=1)
    )
    before = disk_state(world.root)

    result = world.sync()

    assert result.code == 2, result
    assert "the TIDAL snapshot is incomplete" in result.err
    assert "the playlist list (2 of 3 playlists)" in result.err
    assert disk_state(world.root) == before
    with world.engine.connect() as connection:
        deleted = connection.execute(
            select(Playlist.name).where(Playlist.removed_from_tidal.is_(True))
        ).all()
    assert deleted == []
    case.check()  # TIDAL lists all three again: the sync converges, nothing lost


@pytest.mark.parametrize("left", [1, 0], ids=["short", "empty"])
def test_a_short_or_empty_playlist_list_is_held_and_trashes_nothing(
    sync_world: World, reliability: Reliability, left: int
) -> None:
    world = synced(sync_world(small_account()))
    case = reliability("tidal", world)
    gone = [world.catalog.playlist(u) for u in (CHILL, BOUNCE, AFTERNOON)[: 3 - left]]
    for playlist in gone:
        assert playlist is not None
        world.catalog.remove_playlist(playlist.uuid)
    before = disk_state(world.root)

    result = world.sync()

    assert result.code == 2, result
    assert "--allow-mass-removal" in result.err
    assert disk_state(world.root) == before
    assert not (world.root / ".tidal-sync" / "trash" / "manifest.jsonl").exists()
    assert world.audio_requests() == []
    case.check(converge=False)
    for playlist in gone:  # TIDAL answers in full again
        world.catalog.put_playlist(playlist)  # type: ignore[arg-type]
    case.check()
