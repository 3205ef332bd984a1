"""`tidal-sync sync` end to end on the demo catalog: the library it builds and keeps.

Every test drives the real CLI against the sandbox TIDAL over HTTP with the real
tidalapi, a real SQLite database, a real Dagster instance and a real library on disk.
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import time

import mutagen
import pytest
from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    RunsFilter,
    build_run_status_sensor_context,
)

from tests.fixtures.sync import (
    STORY_USER,
    World,
    disk_state,
    story_catalog,
    story_playlist,
    story_track,
    unreadable_audio,
)
from tidal_sync_assets.database import DownloadStatus
from tidal_sync_assets.defs.partitions import RANGE_END, RANGE_START
from tidal_sync_assets.defs.resources import DatabaseResource
from tidal_sync_assets.defs.sensors import sync_failures
from tidal_sync_assets.disk.tags import read_tags
from tidal_sync_assets.sandbox.catalog import Catalog, track_from_dict
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.sandbox.images import cover_jpeg
from tidal_sync_assets.sandbox.payloads import cover_id

UNAVAILABLE_TRACK = 1042  # "Overpass": allowStreaming false in the demo catalog, in "CON"
WARM_UP = "5a1d0b00-0000-4000-8000-000000000001"
PEAK_TIME = "5a1d0b00-0000-4000-8000-000000000002"
CAFE = "5a1d0b00-0000-4000-8000-000000000011"
PLAYLIST_TRACKS = r"^/v1/playlists/[^/]+/(tracks|items)"
ONE_TRACK = r"^/v1/tracks/\d+(\?|$)"  # a single track's document
ALBUM = r"^/v1/albums/\d+(\?|$)"
COVER = r"^/images/"


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


def test_tidal_is_asked_once_per_album_ever_and_never_for_a_track_it_listed(
    sync_world: World,
) -> None:
    night = {"album": "Night EP", "album_artist": "Various Artists", "release_date": "2019-05-04"}
    tracks = [
        story_track(1, "One", "Ann", **night),
        story_track(2, "Two", "Bea", **night),
        story_track(4, "Four", "Cid"),
    ]
    playlists = [
        story_playlist(WARM_UP, "Warm Up", [1, 2, 4]),
        story_playlist(PEAK_TIME, "Peak Time", [2, 1]),
    ]
    world = sync_world(story_catalog(tracks, playlists))
    catalog = world.catalog

    def album_of(track: int) -> int:
        found = catalog.track(track)
        assert found is not None
        return catalog.album_id(found)

    assert world.sync().code == 0

    assert sorted(world.downloads()) == [1, 2, 4]
    assert world.requests(ONE_TRACK) == [], "the snapshot holds every track: none is fetched"
    playback = world.requests(r"^/v1/tracks/\d+/playbackinfopostpaywall")
    assert len(playback) == 3, "one playback info per download"
    albums = sorted(r.partition("?")[0] for r in world.requests(ALBUM))
    assert albums == sorted(f"GET /v1/albums/{album_of(t)}" for t in (1, 4))
    assert len(world.requests(COVER)) == 2, "one cover per album"
    tags = read_tags(world.primary(2))
    assert (tags.album_artist, tags.year) == ("Various Artists", 2019)

    # A new track on the album already known: tagged from what the database and the cover
    # cache kept; TIDAL is asked for its playback info and its audio only.
    catalog.put_track(track_from_dict(story_track(3, "Three", "Dee", **night)))
    catalog.add_playlist_tracks(WARM_UP, [3])
    world.sandbox.clear_log()

    assert world.sync().code == 0

    assert world.downloads() == [3]
    assert world.requests(ALBUM) == [] and world.requests(COVER) == []
    assert world.requests(ONE_TRACK) == []
    tags = read_tags(world.primary(3))
    assert (tags.album_artist, tags.year) == ("Various Artists", 2019)
    picture = mutagen.File(world.primary(3)).pictures[0]
    assert picture.data == cover_jpeg(cover_id(album_of(3)))
    row = world.track_rows()[3]  # what status and the Rekordbox XML read
    assert (row.album_artist, row.release_date) == ("Various Artists", "2019-05-04")
    world.check()


def test_a_dj_finds_each_playlist_partition_by_its_name_and_tidal_folder(
    sync_world: World,
) -> None:
    tracks = [story_track(1, "One", "Ann"), story_track(2, "Two", "Bea")]
    # More playlists than a metadata table shows by default (50): all are listed by name.
    crates = [
        story_playlist(f"c0c0c0c0-0000-4000-8000-{i:012d}", f"Crate {i:02d}", [1])
        for i in range(55)
    ]
    data = {
        "user": STORY_USER,
        "tracks": tracks,
        "playlists": [
            {**story_playlist(WARM_UP, "Deep House", [1]), "folder": "warm"},
            story_playlist(PEAK_TIME, "Peak Time", [2]),
            *crates,
        ],
        "folders": [
            {"id": "club", "name": "Club", "parent": None},
            {"id": "warm", "name": "Warm-ups", "parent": "club"},
        ],
    }
    world = sync_world(Catalog.from_dict(data))
    # Track 2's audio is refused: "Peak Time" fails, and says so by name.
    world.sandbox.faults.add(FaultRule(path=r"^/_audio/2\b", kind="status", status=404, times=None))

    assert world.sync().code == 1

    instance = DagsterInstance.get()
    snapshot = instance.get_latest_materialization_event(AssetKey("tidal_snapshot"))
    assert snapshot is not None and snapshot.asset_materialization is not None
    listed = snapshot.asset_materialization.metadata["playlist partitions by name"].value
    rows = [
        (r.data["playlist"], r.data["TIDAL folder"], r.data["partition"])
        for r in listed.records  # type: ignore[union-attr]
    ]
    assert rows == [
        *[(f"Crate {i:02d}", "", p["uuid"]) for i, p in enumerate(crates)],
        ("Deep House", "Club / Warm-ups", WARM_UP),
        ("Peak Time", "", PEAK_TIME),
    ]

    def partition_metadata(key: str) -> dict[str, object]:
        found = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("playlist_library"), asset_partitions=[key]),
            limit=1,
        ).records
        assert found, f"no materialization of partition {key}"
        materialization = found[0].asset_materialization
        assert materialization is not None
        return {k: v.value for k, v in materialization.metadata.items()}

    deep = partition_metadata(WARM_UP)
    assert (deep["playlist"], deep["TIDAL folder"], deep["folder"]) == (
        "Deep House",
        "Club / Warm-ups",
        "Playlists/Deep House",
    )
    crate = partition_metadata(crates[7]["uuid"])
    assert (crate["playlist"], crate["TIDAL folder"]) == ("Crate 07", "(top)")

    (library_run,) = instance.get_run_records(
        RunsFilter(tags={"tidal-sync/step": "library"}), limit=1
    )
    run = library_run.dagster_run
    (failure,) = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
    assert failure.dagster_event is not None
    data = failure.dagster_event.step_failure_data
    assert data is not None and data.user_failure_data is not None
    assert f"Peak Time ({PEAK_TIME})" in str(data.user_failure_data.description)

    # The run-failure sensor's log names the run's playlists too.
    (run_failed,) = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
    assert run_failed.dagster_event is not None
    context = build_run_status_sensor_context(
        sensor_name="sync_failures",
        dagster_event=run_failed.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"database": DatabaseResource(url=world.database_url)},
    ).for_run_failure()
    lines: list[str] = []
    context.log.addHandler(Lines(lines))
    sync_failures(context)
    assert len(lines) == 1 and f"Peak Time ({PEAK_TIME})" in lines[0], lines
    assert f"Deep House ({WARM_UP})" in lines[0]


class Lines(logging.Handler):
    """Collects what a sensor logs on its tick (the lines the UI shows under it)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
