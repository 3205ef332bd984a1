"""The real Dagster webserver serves the code location, and stops cleanly on Ctrl-C.

Scenario: ``dagster dev`` is started on the repository's ``workspace.yaml`` with a Dagster
home holding the committed ``dagster.yaml``; within a bounded time GraphQL reports the code
location ``tidal_sync_assets`` as LOADED with the pinned assets and the instance's run queue
as ``dagster.yaml`` configures it. SIGINT then stops it, and no process of its group is left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
LOAD_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0

STATUS_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries { name loadStatus locationOrLoadError { __typename } }
    }
  }
}
"""
DETAILS_QUERY = """
{
  instance { runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml } }
  assetNodes { assetKey { path } }
}
"""


@dataclass(frozen=True)
class Webserver:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def graphql(url: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.load(response)
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def live_processes_in_group(pgid: int) -> list[str]:
    """The processes (not zombies) whose process group is ``pgid``, as "pid command"."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ')'.
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            found.append(f"{entry.name} {command}")
    return found


@contextmanager
def running_webserver(tmp_path: Path) -> Iterator[Webserver]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_SYNC_")}
    env |= {
        "DAGSTER_HOME": str(home),
        "TIDAL_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'tidal_sync.db'}",
        "TIDAL_SYNC_LIBRARY_ROOT": str(tmp_path / "library"),
        "TIDAL_SYNC_SESSION_FILE": str(tmp_path / "session.json"),
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    log = tmp_path / "webserver.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                str(REPO / "workspace.yaml"),
            ],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Webserver(process, f"http://127.0.0.1:{port}/graphql", log)
    finally:
        if process.poll() is None:  # only when the test failed before stopping it
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_loaded(server: Webserver) -> list[dict[str, Any]]:
    deadline = time.monotonic() + LOAD_TIMEOUT
    entries: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"dagster dev exited with {server.process.returncode}:\n{server.output()}")
        try:
            data = graphql(server.url, STATUS_QUERY)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
            continue
        entries = data["workspaceOrError"].get("locationEntries", [])
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            return entries
        time.sleep(0.5)
    pytest.fail(
        f"the code location did not load in {LOAD_TIMEOUT:.0f} s (last: {entries}):\n"
        + server.output()
    )


@pytest.mark.slow
@pytest.mark.timeout(LOAD_TIMEOUT + STOP_TIMEOUT + 60)
def test_dagster_dev_serves_the_code_location_and_stops_on_sigint(tmp_path: Path) -> None:
    with running_webserver(tmp_path) as server:
        entries = wait_until_loaded(server)
        assert entries == [
            {
                "name": "tidal_sync_assets",
                "loadStatus": "LOADED",
                "locationOrLoadError": {"__typename": "RepositoryLocation"},
            }
        ], server.output()

        details = graphql(server.url, DETAILS_QUERY)
        # The instance runs with the committed dagster.yaml: its run queue is the one it sets.
        queue = details["instance"]["runQueueConfig"]
        assert queue["maxConcurrentRuns"] == 4
        assert "tidal-sync/library" in queue["tagConcurrencyLimitsYaml"]
        assets = {"/".join(node["assetKey"]["path"]) for node in details["assetNodes"]}
        assert assets == {
            "tidal_snapshot",
            "filesystem_snapshot",
            "library_diff",
            "dedup_plan",
            "playlist_library",
        }

        pgid = os.getpgid(server.process.pid)
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            server.process.wait()
            pytest.fail(
                f"dagster dev ignored SIGINT for {STOP_TIMEOUT:.0f} s and was killed:\n"
                + server.output()
            )

        # Its children (webserver, daemon, code server) may take a moment to follow.
        deadline = time.monotonic() + 10
        while (left := live_processes_in_group(pgid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert left == [], f"processes left behind: {left}\n{server.output()}"
    assert "Traceback" not in server.output(), server.output()
