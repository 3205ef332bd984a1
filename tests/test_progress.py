"""Progress you can see: the model's arithmetic, and what a sync shows while it runs.

Scenarios: eight download threads report into one ``Progress`` at once → it counts every
file and byte and works out MB/s and the ETA from them; a real ``tidal-sync sync`` with
stdout and stderr as pipes (cron, CI) prints a plain progress line every few seconds
and, at the end, every file downloaded of the total, never a token or a URL; on a
terminal (a pty), rich draws the live display.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from tests.fixtures.sandbox import product_env
from tidal_sync_assets.progress import Progress, format_seconds
from tidal_sync_assets.sandbox.catalog import synthetic_catalog
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.sandbox.server import SandboxServer

REPO = Path(__file__).resolve().parents[1]
AUDIO = {".flac", ".m4a", ".mp3", ".ogg", ".opus"}


class Clock:
    """A clock the test moves: the arithmetic is checked to the digit."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_files_and_bytes_reported_from_many_threads_give_mb_per_s_and_eta() -> None:
    clock = Clock()
    progress = Progress(clock)
    progress.begin_fetch(3)
    for _ in range(3):
        progress.playlist_fetched()
    progress.begin_downloads(100)
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()  # all eight report at the same moment
        for _ in range(10):
            progress.file_downloaded(250_000)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    progress.file_failed()
    clock.now += 20.0  # 81 files in 20 s

    view = progress.view()
    assert (view.files_downloaded, view.files_failed, view.files_total) == (80, 1, 100)
    assert view.bytes_downloaded == 80 * 250_000
    assert view.megabytes_per_second == pytest.approx(20.0 / 20.0)  # 20 MB in 20 s
    assert view.eta_seconds == pytest.approx(19 * 20.0 / 81)
    assert view.playlists_fetched == 3
    line = view.line()
    assert "playlists fetched 3/3" in line
    assert "files 81/100 (1 failed)" in line
    assert "1.00 MB/s" in line
    assert "ETA 5s" in line
    assert "ETA" not in Progress(clock).view().line()


def test_before_the_first_file_there_is_no_eta_and_after_the_last_it_is_zero() -> None:
    clock = Clock()
    progress = Progress(clock)
    progress.begin_downloads(2)
    assert progress.view().eta_seconds is None
    assert progress.view().megabytes_per_second == 0.0
    clock.now += 4
    progress.file_downloaded(1_000_000)
    progress.file_downloaded(1_000_000)
    assert progress.view().eta_seconds == 0.0
    clock.now += 60  # the sync goes on after the last download: the rate stays
    assert progress.view().megabytes_per_second == pytest.approx(0.5)
    assert format_seconds(3725) == "1h02m" and format_seconds(75) == "1m15s"


@pytest.fixture
def small_sandbox() -> Iterator[SandboxServer]:
    """A small account (3 playlists, 12 tracks): a whole sync in seconds."""
    with SandboxServer(synthetic_catalog(3, 12)) as server:
        yield server


@pytest.fixture
def user_env(small_sandbox: SandboxServer, tmp_path: Path) -> dict[str, str]:
    state = tmp_path / "state"
    state.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TIDAL_SYNC_", "DAGSTER"))}
    env = product_env(small_sandbox.base_url, tmp_path / "library", tmp_path / "home", state)
    return {**clean, **env, "PYTHONPATH": str(REPO)}


def distinct_audio_files(library: Path) -> int:
    """Audio files in the library, a link and its primary counted once (by inode)."""
    inodes = set()
    for folder, _, names in os.walk(library):
        if ".tidal-sync" in Path(folder).parts:
            continue
        for name in names:
            path = Path(folder) / name
            if path.suffix in AUDIO and path.exists():
                inodes.add(path.stat().st_ino)
    return len(inodes)


def test_a_sync_without_a_terminal_prints_plain_progress_lines_without_secrets(
    small_sandbox: SandboxServer, user_env: dict[str, str], tmp_path: Path
) -> None:
    # Every piece of audio takes a while: the downloads last long enough for some lines.
    small_sandbox.faults.add(FaultRule(path=r"^/_audio/", kind="slow", delay=0.25, times=None))
    # and TIDAL rate-limits one request: the wait is said once and counted.
    small_sandbox.faults.add(
        FaultRule(path=r"^/v1/tracks/\d+/playbackinfo", status=429, retry_after=1, times=1)
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tidal_sync_assets.cli", "sync"],
        cwd=REPO,
        env=user_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started

    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "files " in line]
    assert len(lines) >= 3, f"{took:.1f} s sync, progress:\n{done.stderr}"
    assert "playlists fetched 3/3" in lines[-1]
    downloaded = distinct_audio_files(tmp_path / "library")
    assert downloaded == 12
    assert f"files {downloaded}/{downloaded}" in lines[-1], lines[-1]
    assert "MB/s" in lines[-1]
    assert "rate-limit waits 1" in lines[-1]
    assert done.stderr.count("rate limited by TIDAL, waiting") == 1
    saved = json.loads(Path(user_env["TIDAL_SYNC_SESSION_FILE"]).read_text())
    token = saved["access_token"]["data"]
    output = done.stdout + done.stderr
    for secret in ("token=", token, "http"):
        assert secret not in output, f"{secret!r} in the output"

    # The same progress is in the library run's log, the counts in its metadata.
    with DagsterInstance.from_config(user_env["DAGSTER_HOME"]) as instance:
        logged = [
            entry.user_message
            for run in instance.get_runs()
            for entry in instance.all_logs(run.run_id)
            if entry.user_message.startswith("progress: ")
        ]
        materialized = instance.fetch_materializations(AssetKey("playlist_library"), limit=100)
    assert any(f"files {downloaded}/{downloaded}" in line for line in logged), logged
    assert not [line for line in logged if "token=" in line or token in line or "http" in line]
    counts = [r.asset_materialization.metadata["files downloaded"] for r in materialized.records]
    assert sum(int(count.value) for count in counts) == downloaded  # type: ignore[union-attr]


def test_on_a_terminal_rich_draws_the_live_display(
    small_sandbox: SandboxServer, user_env: dict[str, str]
) -> None:
    small_sandbox.faults.add(
        FaultRule(path=r"^/v1/tracks/\d+/playbackinfo", status=429, retry_after=1, times=1)
    )
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tidal_sync_assets.cli", "sync"],
        cwd=REPO,
        env={**user_env, "TERM": "xterm-256color", "COLUMNS": "200"},
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the pty closed: the sync ended
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    assert process.wait(timeout=30) == 0, seen.decode(errors="replace")
    text = seen.decode(errors="replace")
    assert "\x1b[" in text, "rich drew nothing (no terminal control sequence)"
    assert "files 12/12" in text and "MB/s" in text
    # The wait is printed above the display (not through it) and counted in it.
    assert text.count("rate limited by TIDAL, waiting 1 s\r\n") == 1
    assert "rate-limit waits 1" in text.replace("\r\n", "")
    assert "token=" not in text
