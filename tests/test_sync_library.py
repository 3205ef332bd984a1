"""`tidal-sync sync` end to end on the demo catalog: the library it builds and keeps.

Every test drives the real CLI against the sandbox TIDAL over HTTP with the real
tidalapi, a real SQLite database, a real Dagster instance and a real library on disk.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest
from dagster import AssetKey, DagsterInstance, RunsFilter

from tests.fixtures.sync import (
    World,
    disk_state,
    story_catalog,
    story_playlist,
    story_track,
    unreadable_audio,
)
from tidal_sync_assets.database import DownloadStatus
from tidal_sync_assets.disk.tags import read_tags
from tidal_sync_assets.partitions import RANGE_END, RANGE_START
from tidal_sync_assets.sandbox.catalog import track_from_dict
from tidal_sync_assets.sandbox.faults import FaultRule

UNAVAILABLE_TRACK = 1042  # "Overpass": allowStreaming false in the demo catalog, in "CON"
WARM_UP = "5a1d0b00-0000-4000-8000-000000000001"
PEAK_TIME = "5a1d0b00-0000-4000-8000-000000000002"
CAFE = "5a1d0b00-0000-4000-8000-000000000011"
PLAYLIST_TRACKS = r"^/v1/playlists/[^/]+/(tracks|items)"


def test_first_sync_of_the_demo_catalog_builds_the_library(sync_world: World) -> None:
    world = sync_world()

    result = world.sync()

    assert result.code == 0, result
    assert "in sync" in result.out
    report = world.check()
    assert len(report.folders) == len(world.catalog.own_playlists())
    # The unavailable track is recorded with its reason and did not fail anything.
    row = world.track_rows()[UNAVAILABLE_TRACK]
    assert row.download_status == DownloadStatus.ERROR
    assert row.download_error
    assert row.file_path is None
    assert "failed" not in result.err


def test_a_second_sync_with_nothing_changed_downloads_and_writes_nothing(
    sync_world: World,
) -> None:
    world = sync_world()
    assert world.sync().code == 0
    assert world.requests(PLAYLIST_TRACKS)  # the pattern does match a fetch of tracks
    before = disk_state(world.root)
    world.sandbox.clear_log()

    result = world.sync()

    assert result.code == 0, result
    assert world.audio_requests() == []
    assert world.requests(PLAYLIST_TRACKS) == []
    assert disk_state(world.root) == before
    world.check()


def recomputed(asset: str) -> bool:
    """Whether the latest materialization of ``asset`` computed the diff or plan anew."""
    event = DagsterInstance.get().get_latest_materialization_event(AssetKey(asset))
    assert event is not None and event.asset_materialization is not None
    return bool(event.asset_materialization.metadata["recomputed"].value)


def test_a_quiet_sync_reuses_the_empty_plan_until_the_disk_or_tidal_changes(
    sync_world: World,
) -> None:
    world = sync_world()
    assert world.sync().code == 0
    assert world.sync().code == 0  # plans again after the first sync's actions: nothing to do
    assert recomputed("library_diff") and recomputed("dedup_plan")

    quiet = world.sync()  # the quick check: no run (tests/test_quick_check.py)
    scheduled = world.graph_sync()  # the graph as the nightly schedule runs it

    assert quiet.code == 0 and "in sync" in quiet.out, quiet
    assert scheduled.exit_code == 0 and not scheduled.summary
    assert not recomputed("library_diff") and not recomputed("dedup_plan")

    # A link the user deleted shows up in the scan: the sync plans again and repairs it.
    link = next(p for p in world.folder(PEAK_TIME).iterdir() if p.is_symlink())
    link.unlink()
    repaired = world.sync()
    assert repaired.code == 0, repaired
    assert recomputed("dedup_plan") and link.is_symlink()
    world.check()

    # The sync after a repair plans once more (the repair moved things), then rests.
    assert world.sync().code == 0 and recomputed("dedup_plan")
    assert world.graph_sync().exit_code == 0 and not recomputed("dedup_plan")

    # A change on TIDAL plans again too: a renamed playlist.
    world.catalog.rename_playlist(CAFE, "Cafe Renamed")
    assert world.sync().code == 0
    assert recomputed("dedup_plan") and world.folder(CAFE).name == "Cafe Renamed"
    world.check()

    # A new track in one playlist: the library run spans that partition, not all twelve.
    world.catalog.put_track(track_from_dict(story_track(9001, "Fresh", "Newcomer")))
    world.catalog.add_playlist_tracks(CAFE, [9001])
    assert world.sync().code == 0
    library_run = (
        DagsterInstance.get()
        .get_run_records(RunsFilter(tags={"tidal-sync/step": "library"}), limit=1)[0]
        .dagster_run
    )
    assert library_run.tags[RANGE_START] == library_run.tags[RANGE_END] == CAFE
    world.check()


def test_a_dry_run_prints_the_plan_by_playlist_and_changes_nothing(sync_world: World) -> None:
    world = sync_world()

    result = world.sync("--dry-run")

    assert result.code == 0, result
    assert "Warm Up:" in result.out and "AC/DC Essentials:" in result.out
    assert re.search(r"^  download +\[track 1001\]", result.out, re.MULTILINE)
    assert "nothing changed" in result.out
    assert [p for p in world.root.rglob("*") if ".tidal-sync" not in p.parts] == []
    assert world.audio_requests() == []
    # The real run afterwards does exactly what the dry run printed.
    assert world.sync().code == 0
    world.check()


def test_syncing_one_playlist_by_name_leaves_the_others_alone(sync_world: World) -> None:
    world = sync_world()

    # Typed composed (NFC); the catalog's name is decomposed (NFD), as TIDAL may send it.
    result = world.sync("--playlist", "Café del Mar")

    assert result.code == 0, result
    cafe = world.folder(CAFE)
    assert cafe.is_dir()
    names = {p.name for p in cafe.iterdir()}
    assert "Café del Mar.m3u8" in names
    assert len(names) == 1 + len(set(world.catalog.playlist(CAFE).track_ids))  # type: ignore[union-attr]
    others = [p for p in (world.root / "Playlists").iterdir() if p != cafe]
    assert all(not any(folder.iterdir()) for folder in others), others
    # A full sync then completes the rest.
    assert world.sync().code == 0
    world.check(primaries_by_folder_name=False)


def test_an_unknown_playlist_name_is_one_sentence_and_exit_3(sync_world: World) -> None:
    world = sync_world()

    result = world.sync("--playlist", "No Such Playlist")

    assert result.code == 3
    assert "No Such Playlist" in result.err and "Traceback" not in result.err


@pytest.mark.slow
def test_a_sync_killed_mid_download_leaves_no_partial_file_and_the_next_one_converges(
    sync_world: World,
) -> None:
    world = sync_world()
    world.sandbox.faults.add(
        FaultRule(path=r"^/_audio/", kind="slow", delay=30.0, during_body=True, times=1)
    )
    process = subprocess.Popen(
        world.subprocess_argv(),
        env=world.subprocess_env(),
        cwd=world.root.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not world.audio_requests():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the sync never asked for audio"
            time.sleep(0.05)
        time.sleep(0.3)  # the slow body has started; others may have finished
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        assert process.stdout and process.stderr
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL

    assert unreadable_audio(world.root) == []

    result = world.sync()
    assert result.code == 0, result
    world.check()
    assert unreadable_audio(world.root) == []
    before = disk_state(world.root)
    world.sandbox.clear_log()
    assert world.sync().code == 0
    assert world.audio_requests() == []
    assert disk_state(world.root) == before


@pytest.mark.slow
def test_a_track_whose_audio_keeps_failing_fails_its_playlist_and_a_backfill_finishes_it(
    sync_world: World,
) -> None:
    world = sync_world()
    # Track 1084 is in "Warm Up" and "Café del Mar"; its primary belongs to the
    # first by folder name, "Café del Mar", so that partition fails; "Warm Up"
    # only links to it and fails as well (its link has no primary to point at).
    track = 1002  # only in "Warm Up"
    rule = world.sandbox.faults.add(
        FaultRule(path=rf"^/_audio/{track}\b", kind="status", status=503, times=None)
    )

    result = world.sync()

    assert result.code == 1, result
    assert "Warm Up failed" in result.err
    assert "Café del Mar" not in result.err and "Peak Time Techno" not in result.err
    rows = world.track_rows()
    assert rows[track].download_status == DownloadStatus.ERROR
    assert world.folder(PEAK_TIME).joinpath("Peak Time Techno.m3u8").is_file()

    world.sandbox.faults.clear()
    assert rule.times is None
    from tidal_sync_assets.definitions import defs

    instance = DagsterInstance.get()
    sync_job = defs().resolve_job_def("sync")
    backfill = sync_job.execute_in_process(
        instance=instance,
        partition_key=WARM_UP,
        asset_selection=[AssetKey("playlist_library")],
        raise_on_error=False,
    )

    assert backfill.success
    materialized = instance.get_materialized_partitions(AssetKey("playlist_library"))
    assert WARM_UP in materialized
    world.check()
    assert world.track_rows()[track].download_status == DownloadStatus.DOWNLOADED


def test_a_compilation_track_is_tagged_with_its_album_artist(sync_world: World) -> None:
    track = story_track(1, "Ember", "Selene Vox", album_artist="Various Artists")
    world = sync_world(story_catalog([track], [story_playlist(WARM_UP, "Warm Up", [1])]))

    assert world.sync().code == 0
    assert read_tags(world.primary(1)).album_artist == "Various Artists"
