"""Reliability, security: the session file stays private, tokens leak nowhere, servers
listen on loopback only, and no playlist name from TIDAL can steer a write out of the root.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance
from sqlalchemy import make_url

from tests.fixtures.reliability import (
    ALPHA,
    BRAVO,
    CHILL,
    DELTA,
    Reliability,
    small_account,
    synced,
)
from tests.fixtures.sync import REPO, World, story_playlist
from tidal_sync_assets.cli.demo import ui_command
from tidal_sync_assets.sandbox.catalog import DEMO_CATALOG_PATH, playlist_from_dict
from tidal_sync_assets.sandbox.faults import FaultRule

SANDBOX_COMMAND = [sys.executable, "-m", "tidal_sync_assets.cli", "sandbox"]
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def tokens(session_file: Path) -> set[str]:
    data = json.loads(session_file.read_text())
    return {data[k]["data"] for k in ("access_token", "refresh_token") if data[k]["data"]}


def test_a_session_file_readable_by_others_is_made_private_with_a_warning(
    sync_world: World, reliability: Reliability, caplog: pytest.LogCaptureFixture
) -> None:
    world = sync_world(small_account())
    assert world.session_file.stat().st_mode & 0o777 == 0o600  # as login wrote it
    world.session_file.chmod(0o644)
    case = reliability("security", world)

    with caplog.at_level(logging.WARNING):
        result = world.sync()

    assert result.code == 0, result
    assert world.session_file.stat().st_mode & 0o777 == 0o600
    assert re.search(r"session file .* readable by others", caplog.text), caplog.text
    case.check()


@pytest.mark.slow
def test_no_token_in_logs_events_metadata_errors_or_the_database(
    sync_world: World, reliability: Reliability, caplog: pytest.LogCaptureFixture
) -> None:
    world = synced(sync_world(small_account()))
    seen = tokens(world.session_file)
    world.catalog.add_playlist_tracks(CHILL, [ALPHA, DELTA])
    case = reliability("security", world)
    # A refresh mid-run (a second generation of tokens), and a failure with its message.
    world.sandbox.faults.add(FaultRule(path=r"^/v1/tracks/", kind="expire_token"))
    world.sandbox.faults.add(
        FaultRule(path=rf"^/_audio/{BRAVO}\b", kind="status", status=500, times=None)
    )
    world.primary(BRAVO).unlink()  # so Bravo must be downloaded, and fails

    with caplog.at_level(logging.DEBUG):
        failed = world.sync()
    world.sandbox.faults.clear()
    converged = case.check(meant_to_go={world.primary(BRAVO).relative_to(world.root).as_posix()})
    seen |= tokens(world.session_file)

    assert failed.code == 1, failed
    assert len(seen) >= 3  # the refresh issued a new access token
    texts = {
        "cli output": failed.out
        + failed.err
        + (converged.out + converged.err if converged else ""),
        "logs": caplog.text,
    }
    instance = DagsterInstance.get()
    for record in instance.get_run_records():
        events = instance.all_logs(record.dagster_run.run_id)
        texts[f"run {record.dagster_run.run_id}"] = "\n".join(repr(e) for e in events)
    database = make_url(world.database_url).database
    with sqlite3.connect(str(database)) as connection:
        texts["product database"] = "\n".join(connection.iterdump())
    blobs = {str(p): p.read_bytes() for p in world.home.rglob("*") if p.is_file()}
    blobs |= {str(p): p.read_bytes() for p in world.root.rglob("*.m3u8")}
    internal = world.root / ".tidal-sync"
    blobs |= {str(p): p.read_bytes() for p in internal.rglob("*") if p.is_file()}

    assert len(texts) > 3
    for token in seen:
        leaks = [where for where, text in texts.items() if token in text]
        leaks += [where for where, blob in blobs.items() if token.encode() in blob]
        assert not leaks, f"a token appears in {leaks}"


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp{,6} has them) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def test_the_sandbox_and_the_demo_ui_listen_on_loopback_only(
    sync_world: World, reliability: Reliability, tmp_path: Path
) -> None:
    world = sync_world(small_account())
    case = reliability("security", world)
    assert world.sandbox.base_url.startswith("http://127.0.0.1:")
    assert _listening(int(world.sandbox.base_url.rsplit(":", 1)[1])) == [LOOPBACK_HEX]

    sandbox = subprocess.Popen(
        [*SANDBOX_COMMAND, "--port", "0", "--catalog", str(DEMO_CATALOG_PATH)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        line = sandbox.stdout.readline()
        match = re.search(r"listening on http://([\d.]+):(\d+)", line)
        assert match, line
        assert match[1] == "127.0.0.1"
        assert _listening(int(match[2])) == [LOOPBACK_HEX]
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(timeout=30)
        if sandbox.stdout is not None:
            sandbox.stdout.close()

    command = ui_command()
    assert command[command.index("dev") + 1 :][:2] == ["-h", "127.0.0.1"]
    assert "0.0.0.0" not in command
    case.check()


STEERING_NAMES = [
    "../../etc",
    "/abs",
    "..\\x",
    "..",
    "../Playlists/..",
    "~/.ssh",
    ".tidal-sync",
    "/",
]


def test_a_playlist_name_can_never_steer_a_write_outside_the_root(
    sync_world: World, reliability: Reliability
) -> None:
    catalog = small_account()
    uuids = [f"e7c00000-0000-4000-8000-{n:012d}" for n in range(len(STEERING_NAMES))]
    for n, (uuid, name) in enumerate(zip(uuids, STEERING_NAMES, strict=True)):
        tracks = [ALPHA, BRAVO] if n % 2 else [DELTA]
        catalog.put_playlist(playlist_from_dict(story_playlist(uuid, name, tracks, day=9)))
    world = sync_world(catalog)
    outside = [
        Path("/abs"),
        world.root.parent / "etc",
        world.root.parent.parent / "etc",
        world.root / "x",
        world.root / "etc",
        world.root / "Playlists" / "etc",
    ]
    case = reliability("security", world, outside=outside)

    result = world.sync()

    assert result.code == 0, result
    for uuid in uuids:
        folder = world.folder(uuid)
        assert folder.parent == world.root / "Playlists"
        assert folder.name not in (".", "..", ".tidal-sync")
    case.check()
