"""A new DJ's first commands: what they see when something is not set up yet.

Scenarios: the ``.env`` in the folder the user runs ``tidal-sync`` from is honoured; a
sync before any login says so and exits 3 (could not start) without starting a run;
TIDAL that does not answer is said on the terminal at once, not after minutes of
silence; ``trash restore`` of an empty trash says it is empty; ``status`` piped into
a reader that stops early ends quietly; a playlist deleted on TIDAL between the first
dry run and the first sync gets no folder (and so holds no later sync); a sync of one
playlist says that playlist is in sync, not the library.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.sync import World, story_catalog, story_playlist, story_track
from tidal_sync_assets.cli import commands as cli

REPO = Path(__file__).resolve().parents[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without any product or Dagster setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDAL_SYNC_", "DAGSTER"))}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def tidal_sync(argv: list[str], cwd: Path, env: dict[str, str], **kw: object) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "tidal_sync_assets.cli", *argv],
        cwd=cwd,
        env=env,
        text=True,
        timeout=120,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for an in-process ``tidal-sync`` in ``tmp_path``: its own home and database."""
    for name in [k for k in os.environ if k.startswith(("TIDAL_SYNC_", "DAGSTER"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("TIDAL_SYNC_LIBRARY_ROOT", str(tmp_path / "library"))
    monkeypatch.setenv("TIDAL_SYNC_SESSION_FILE", str(tmp_path / "session.json"))
    return tmp_path


def test_the_env_file_in_the_folder_the_user_works_in_is_honoured(tmp_path: Path) -> None:
    database = tmp_path / "mine.db"
    (tmp_path / ".env").write_text(f"TIDAL_SYNC_DATABASE_URL=sqlite:///{database}\n")

    done = tidal_sync(["db", "upgrade"], tmp_path, clean_env(), capture_output=True)

    assert done.returncode == 0, done.stderr
    assert str(database) in done.stdout
    assert database.is_file()
    assert not (tmp_path / "dagster_home" / "tidal_sync.db").exists()


def test_a_sync_before_any_login_says_so_and_exits_3(
    product: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["sync", "--dry-run"])

    _, err = capsys.readouterr()
    assert code == 3
    assert err == (
        f"tidal-sync: No TIDAL login found at {product / 'session.json'}; "
        "run `tidal-sync login` first.\n"
    )
    assert not (product / "dagster_home" / "history").exists()  # no Dagster run started


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_tidal_down_is_said_at_once_then_the_sync_fails_in_one_sentence(
    product: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = {k: {"data": v} for k, v in [("token_type", "Bearer"), ("session_id", "s"),
               ("access_token", "secret-access"), ("refresh_token", "secret-refresh"),
               ("is_pkce", False)]}  # fmt: skip
    (product / "session.json").write_text(json.dumps(session))
    (product / "session.json").chmod(0o600)
    monkeypatch.setenv("TIDAL_SYNC_API_BASE", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("TIDAL_SYNC_PATIENCE", "2")

    code = cli.main(["sync"])

    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 1, err
    assert lines[0] == (
        "tidal-sync: TIDAL did not answer (connection failed); trying again for up to 2 s"
    )
    assert "TIDAL could not be reached" in lines[-1]
    assert "secret" not in err


def test_restoring_an_empty_trash_says_it_is_empty(
    product: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (product / "library").mkdir()

    restored = cli.main(["trash", "restore"])
    restore_out, restore_err = capsys.readouterr()
    listed = cli.main(["trash", "list"])
    list_out, _ = capsys.readouterr()

    assert (restored, restore_err) == (0, "")
    assert restore_out == "the trash is empty: nothing to restore\n"
    assert (listed, list_out) == (0, "the trash is empty\n")


def test_status_into_a_reader_that_stopped_ends_quietly(tmp_path: Path) -> None:
    env = clean_env(DAGSTER_HOME=str(tmp_path / "home"))
    reader, writer = os.pipe()
    os.close(reader)  # like `| head -3` once it has its lines
    try:
        done = tidal_sync(["status"], tmp_path, env, stdout=writer, stderr=subprocess.PIPE)
    finally:
        os.close(writer)

    assert done.stderr == ""
    assert done.returncode == 141


AFTERNOON = "0a0a0a0a-0000-4000-8000-00000000000a"
BOUNCE = "0b0b0b0b-0000-4000-8000-00000000000b"


@pytest.mark.parametrize("link_mode", ["symlink"])
def test_a_playlist_deleted_after_the_first_dry_run_gets_no_folder(sync_world: World) -> None:
    world = sync_world(
        story_catalog(
            [story_track(1, "Alpha", "Ann"), story_track(2, "Bravo", "Ben")],
            [story_playlist(AFTERNOON, "Afternoon", [1]), story_playlist(BOUNCE, "Bounce", [2])],
        )
    )
    assert world.sync("--dry-run").code == 0  # the snapshot now knows "Bounce"
    world.catalog.remove_playlist(BOUNCE)

    first = world.sync("--playlist", "Afternoon")
    again = world.sync()

    assert first.code == 0, first
    assert "Bounce" not in first.out
    assert first.out.splitlines()[-1].startswith("Afternoon in sync (")  # not the library
    assert again.code == 0, again  # nothing of "Bounce" to remove: no guard holds it
    assert sorted(p.name for p in (world.root / "Playlists").iterdir()) == ["Afternoon"]
