"""What TIDAL delivered is recorded and shown; a minimum can be demanded; a PKCE login upgrades.

Scenarios through ``tidal-sync`` against the sandbox: a device-code login asking LOSSLESS gets
AAC for a release without a hi-res master (as real TIDAL does), FLAC for one with a master.
"""

from __future__ import annotations

import io
import subprocess
import sys

import mutagen
import pytest
from dagster import AssetKey, DagsterInstance
from sqlalchemy import select

from tests.fixtures.sandbox import browser_redirect
from tests.fixtures.sync import (
    REPO,
    SyncWorld,
    World,
    disk_state,
    story_catalog,
    story_playlist,
    story_track,
)
from tidal_sync_assets.database import DownloadStatus, Track

pytestmark = pytest.mark.parametrize("link_mode", ["symlink"])

MIX = "0a0a0a0a-0000-4000-8000-00000000000a"
DEEP = "0b0b0b0b-0000-4000-8000-00000000000b"
PLAIN, MASTERED = 1, 2  # no hi-res master / a hi-res master


def mixed_world(sync_world: World, **env: str) -> SyncWorld:
    tracks = [
        story_track(PLAIN, "Plain", "Pat", hiResMaster=False),
        story_track(MASTERED, "Mastered", "Max"),
    ]
    playlists = [
        story_playlist(MIX, "Mix", [PLAIN, MASTERED], day=1),
        story_playlist(DEEP, "Deep", [PLAIN], day=2),
    ]
    return sync_world(story_catalog(tracks, playlists), env=env or None)


def delivered(world: SyncWorld) -> dict[int, tuple[object, ...]]:
    with world.engine.connect() as connection:
        rows = connection.execute(
            select(
                Track.tidal_id,
                Track.audio_quality,
                Track.codec,
                Track.sample_rate,
                Track.bit_depth,
                Track.file_path,
                Track.download_status,
            )
        ).tuples()
        return {tidal_id: tuple(rest) for tidal_id, *rest in rows}


def test_a_lossless_request_answered_with_aac_is_stored_as_m4a_recorded_and_not_redone(
    sync_world: World,
) -> None:
    world = mixed_world(sync_world)

    first = world.sync()

    assert first.code == 0, first
    rows = delivered(world)
    assert rows[PLAIN][:4] == ("HIGH", "aac", 16_000, None)
    assert rows[MASTERED][:4] == ("LOSSLESS", "flac", 16_000, 16)
    assert str(rows[PLAIN][4]).endswith(".m4a") and str(rows[MASTERED][4]).endswith(".flac")
    stored = world.root / str(rows[PLAIN][4])
    assert type(mutagen.File(stored)).__name__ == "MP4"
    assert "1 stored track(s) below the wanted quality LOSSLESS" in first.out
    assert "login --pkce" in first.out
    world.check()

    world.sandbox.clear_log()
    second = world.sync()

    assert second.code == 0, second
    assert world.downloads() == []
    status = world.cli("status")
    assert "1 stored track(s) below the wanted quality LOSSLESS" in status.out


def test_a_minimum_quality_fails_a_lower_delivery_and_keeps_no_file(sync_world: World) -> None:
    world = mixed_world(sync_world, TIDAL_SYNC_MIN_QUALITY="LOSSLESS")

    result = world.sync()

    assert result.code == 1, result
    assert "Mix failed" in result.err and "Deep failed" in result.err
    assert "TIDAL_SYNC_MIN_QUALITY" in result.err
    rows = delivered(world)
    assert rows[PLAIN][4] is None and rows[PLAIN][5] == DownloadStatus.ERROR
    assert rows[MASTERED][:2] == ("LOSSLESS", "flac")
    audio = sorted(p.name for p in world.root.rglob("*") if p.suffix in (".m4a", ".flac"))
    assert audio == ["Max - Mastered.flac"]


def test_sync_upgrade_after_a_pkce_login_replaces_the_aac_with_flac(sync_world: World) -> None:
    world = mixed_world(sync_world)
    assert world.sync().code == 0
    old = world.root / str(delivered(world)[PLAIN][4])

    pkce_login_through_the_cli(world)
    world.sandbox.clear_log()
    result = world.sync("--upgrade")

    assert result.code == 0, result
    assert world.downloads() == [PLAIN]
    rows = delivered(world)
    assert rows[PLAIN][:4] == ("LOSSLESS", "flac", 16_000, 16)
    new = world.root / str(rows[PLAIN][4])
    assert new.suffix == ".flac" and new.read_bytes().startswith(b"fLaC")
    assert not old.exists()
    trashed = world.cli("trash", "list").out
    assert old.name in trashed
    assert "below the wanted quality" not in result.out
    world.check()


def test_sync_upgrade_when_tidal_still_delivers_the_same_quality_changes_nothing(
    sync_world: World,
) -> None:
    world = mixed_world(sync_world)
    assert world.sync().code == 0
    stored = world.primary(PLAIN)
    inode, data = stored.stat().st_ino, stored.read_bytes()
    rows, disk = world.track_rows(), disk_state(world.root)
    world.sandbox.clear_log()

    # Still the device-code login: TIDAL answers LOSSLESS with AAC 320 again.
    result = world.sync("--upgrade")

    assert result.code == 0, result
    assert "TIDAL now delivers 0 track(s) better" in result.out
    asked = world.requests(r"/playbackinfo")
    assert asked and all(f"/v1/tracks/{PLAIN}/" in request for request in asked), asked
    assert world.downloads() == []
    assert (stored.stat().st_ino, stored.read_bytes()) == (inode, data)
    assert disk_state(world.root) == disk  # the trash included: nothing went there
    assert "the trash is empty" in world.cli("trash", "list").out
    assert world.track_rows() == rows
    assert delivered(world)[PLAIN][:4] == ("HIGH", "aac", 16_000, None)
    assert "1 stored track(s) below the wanted quality LOSSLESS" in result.out


def below_wanted_quality_metadata() -> dict[str, object]:
    """Per playlist partition, what its latest ``playlist_library`` materialization in the
    Dagster instance says under "tracks below wanted quality"."""
    instance = DagsterInstance.get()
    records = instance.fetch_materializations(AssetKey("playlist_library"), limit=100).records
    latest: dict[str, object] = {}
    for record in sorted(records, key=lambda r: r.storage_id):
        materialization = record.asset_materialization
        assert materialization is not None and materialization.partition is not None
        latest[materialization.partition] = materialization.metadata[
            "tracks below wanted quality"
        ].value
    return latest


def test_each_library_materialization_counts_the_stored_tracks_below_the_wanted_quality(
    sync_world: World,
) -> None:
    world = mixed_world(sync_world)

    assert world.sync().code == 0

    # Plain came as AAC where LOSSLESS was wanted: one track below, library-wide.
    assert below_wanted_quality_metadata() == {MIX: 1, DEEP: 1}

    pkce_login_through_the_cli(world)
    assert world.sync("--upgrade").code == 0

    assert below_wanted_quality_metadata() == {MIX: 0, DEEP: 0}


def pkce_login_through_the_cli(world: SyncWorld) -> None:
    """``tidal-sync login --pkce`` in its own process: read its URL, answer on stdin."""
    login = subprocess.Popen(
        [sys.executable, "-m", "tidal_sync_assets.cli", "login", "--pkce"],
        env=world.subprocess_env(),
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert login.stdout is not None and login.stdin is not None
    url = ""
    while not url.startswith("http"):
        url = login.stdout.readline().strip()
        assert url or login.poll() is None, login.stderr.read() if login.stderr else ""
    login.stdin.write(browser_redirect(url) + "\n")
    login.stdin.flush()
    out, err = login.communicate(timeout=60)
    assert login.returncode == 0, err
    assert "PKCE" in out
    assert world.session_file.stat().st_mode & 0o777 == 0o600
    assert '"is_pkce": {"data": true}' in world.session_file.read_text()


def test_a_script_logs_in_with_pkce_in_two_runs_through_redirect_url(
    sync_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = mixed_world(sync_world)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # nobody answers the first run

    shown = world.cli("login", "--pkce")

    assert shown.code != 0 and "--redirect-url" in shown.err
    url = next(line for line in shown.out.splitlines() if line.startswith("http"))
    assert world.sandbox.base_url + "/authorize?" in url
    pending = world.session_file.with_name(world.session_file.name + ".pkce")
    assert pending.stat().st_mode & 0o777 == 0o600

    done = world.cli("login", "--pkce", "--redirect-url", browser_redirect(url))

    assert done.code == 0, done
    assert '"is_pkce": {"data": true}' in world.session_file.read_text()
    assert not pending.exists()
    assert "code=" not in done.out + done.err  # the code is a secret too
