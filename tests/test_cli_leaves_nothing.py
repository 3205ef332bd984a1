"""``tidal-sync`` as a user runs it, started in its own session: it leaves nothing behind.

Scenarios: a sync (clean, or with failed playlists) starts no helper process and none
outlives it; a sync stopped with SIGTERM while planning or downloading ends promptly with
one sentence and exit 143, leaving nothing running and no partial file under a final name;
a fresh, empty ``DAGSTER_HOME`` gets the product's instance file and the
commands print only the product's own words (no Dagster warning, banner or notice); the
library's lock folder holds a fixed number of files however many tracks were synced.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile
import yaml

from tests.fixtures.sandbox import product_env
from tests.fixtures.sync import without_progress
from tidal_sync_assets.cli.instance import INSTANCE_YAML
from tidal_sync_assets.disk.lock import TRACK_LOCK_STRIPES, library_lock, track_lock
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.sandbox.server import SandboxServer

REPO = Path(__file__).resolve().parents[1]
# What Dagster prints on its own: warnings, the telemetry banner, the instance notice.
# A stopped sync finishes the downloads under way (each held 1 s by the slow sandbox).
STOP_WITHIN = 15.0
DAGSTER_WORDS = ("Warning", "dagster", "Dagster", "telemetry", "Telemetry", "dagster.yaml")


def group_members(group: int) -> dict[int, str]:
    """The live processes whose process group is ``group``: pid → command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:  # it ended while we looked
            continue
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == group and state != "Z":
            found[int(entry.name)] = args
    return found


def run_alone(
    argv: list[str], env: dict[str, str], stop_when: Callable[[], bool] | None = None
) -> tuple[int, str, list[str], list[str]]:
    """Run ``tidal-sync argv`` as the leader of a new session, watching its process group.

    With ``stop_when``, the command gets SIGTERM as soon as that returns true, as a
    service manager or ``kill`` would stop it. Returns the exit code, stderr, the
    other processes that lived in the group for a while (a second or more: not a
    one-shot probe a library runs, like ``platform``'s ``file -b``) and the group's
    processes alive right after the command exited.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "tidal_sync_assets.cli", *argv],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: dict[tuple[int, str], list[float]] = {}
    stopped_at = None
    try:
        while process.poll() is None:
            now = time.monotonic()
            for pid, args in group_members(process.pid).items():
                if pid != process.pid:
                    seen.setdefault((pid, args), [now, now])[1] = now
            if stop_when is not None and stopped_at is None and stop_when():
                process.terminate()
                stopped_at = now
            assert stopped_at is None or now - stopped_at < STOP_WITHIN, "the stop was not prompt"
            time.sleep(0.02)
    finally:
        if process.poll() is None:  # a failed check: leave nothing running behind the test
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    survivors = sorted(group_members(process.pid).values())
    helpers = sorted({args for (_, args), (first, last) in seen.items() if last - first >= 1.0})
    assert process.stderr is not None
    assert stop_when is None or stopped_at is not None, "the command ended before the stop"
    return process.returncode, process.stderr.read(), helpers, survivors


@pytest.fixture
def user_env(sandbox: SandboxServer, tmp_path: Path) -> dict[str, str]:
    """The product pointed at the sandbox, with a DAGSTER_HOME that exists and is empty."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TIDAL_SYNC_", "DAGSTER"))}
    env = product_env(sandbox.base_url, tmp_path / "library", home, state)
    return {**clean, **env, "PYTHONPATH": str(REPO)}


@pytest.mark.parametrize("how", ["clean", "with-failed-playlists"])
def test_a_sync_starts_no_helper_process_and_none_outlives_it(
    sandbox: SandboxServer, user_env: dict[str, str], how: str
) -> None:
    if how == "with-failed-playlists":  # every download fails: exit 1
        sandbox.faults.add(FaultRule(path=r"^/_audio/", status=404, times=None))

    code, err, helpers, survivors = run_alone(["sync"], user_env)

    assert code == {"clean": 0, "with-failed-playlists": 1}[how], err
    assert helpers == [], "the sync started helper processes"
    assert survivors == [], "processes of the sync outlived it"


@pytest.mark.parametrize(
    "when", ["downloading", "planning", "waiting-out-an-outage", "planning-in-an-outage"]
)
def test_a_sync_stopped_with_sigterm_ends_promptly_and_says_so_in_one_sentence(
    sandbox: SandboxServer, user_env: dict[str, str], when: str
) -> None:
    # A slow TIDAL holds the sync in the stage it is stopped in; a TIDAL whose audio is
    # down holds every download in its retries, for the whole patience (minutes).
    busy = r"^/v1/playlists/" if when.startswith("planning") else r"^/_audio/"
    if "outage" in when:
        sandbox.faults.add(FaultRule(path=busy, status=503, times=None))
        user_env = {**user_env, "TIDAL_SYNC_PATIENCE": "300"}
    else:
        sandbox.faults.add(FaultRule(path=busy, kind="slow", delay=1.0, times=None))

    def busy_now() -> bool:
        return any(re.match(busy, target) for _, target, _ in sandbox.request_log)

    code, err, helpers, survivors = run_alone(["sync"], user_env, stop_when=busy_now)

    assert code == 128 + signal.SIGTERM, err
    said = without_progress(err)
    if "outage" in when:  # what it was waiting for, said before the stop
        retrying = "tidal-sync: TIDAL answered 503; trying again for up to 300 s\n"
        assert retrying in said
        said = said.replace(retrying, "")
    assert said == (
        "tidal-sync: stopped; nothing is left half-written, the next sync finishes the job\n"
    )
    assert helpers == [], "the sync started helper processes"
    assert survivors == [], "processes of the sync outlived it"
    library = Path(user_env["TIDAL_SYNC_LIBRARY_ROOT"])
    finished = sorted(library.rglob("*.flac"))
    for path in finished:  # whatever has a final name is whole
        with soundfile.SoundFile(path) as audio:
            assert len(audio.read()) == audio.frames > 0, path
    if when.startswith("planning"):
        assert finished == []


def test_a_fresh_dagster_home_gets_the_instance_file_and_dagster_stays_quiet(
    user_env: dict[str, str], tmp_path: Path
) -> None:
    home = Path(user_env["DAGSTER_HOME"])

    status = run_alone(["status"], user_env)
    sync = run_alone(["sync"], user_env)
    again = run_alone(["sync"], user_env)

    assert (status[0], sync[0], again[0]) == (0, 0, 0), (status, sync, again)
    for err in (status[1], sync[1], again[1]):
        assert not [w for w in DAGSTER_WORDS if w in err], f"Dagster spoke on stderr:\n{err}"
    written = (home / "dagster.yaml").read_text()
    assert yaml.safe_load(written) == yaml.safe_load(INSTANCE_YAML)
    assert yaml.safe_load(written)["telemetry"] == {"enabled": False}


def test_the_instance_file_written_is_the_committed_one() -> None:
    committed = yaml.safe_load((REPO / "dagster_home" / "dagster.yaml").read_text())
    assert yaml.safe_load(INSTANCE_YAML) == committed


def test_a_user_dagster_yaml_is_left_as_it_is(user_env: dict[str, str]) -> None:
    mine = Path(user_env["DAGSTER_HOME"]) / "dagster.yaml"
    mine.write_text("telemetry:\n  enabled: false\n# mine\n")

    code, err, _, _ = run_alone(["sync", "--dry-run"], user_env)

    assert code == 0, err
    assert mine.read_text() == "telemetry:\n  enabled: false\n# mine\n"


def test_the_lock_folder_stays_the_same_size_however_many_tracks(tmp_path: Path) -> None:
    locks = tmp_path / ".tidal-sync" / "locks"
    for track in range(1, 1001):
        with track_lock(tmp_path, track, timeout=1):
            pass
    assert 0 < len(list(locks.iterdir())) <= TRACK_LOCK_STRIPES


def test_a_sync_clears_the_per_track_lock_files_of_earlier_versions(tmp_path: Path) -> None:
    locks = tmp_path / ".tidal-sync" / "locks"
    locks.mkdir(parents=True)
    for track in range(500):
        (locks / f"track-{track}.lock").touch()
    (locks / "folders.lock").touch()

    with library_lock(tmp_path, timeout=1):
        pass

    assert [p.name for p in locks.iterdir()] == ["folders.lock"]
