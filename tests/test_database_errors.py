"""A database the product cannot use ends in one clear line, never a traceback.

Scenarios, through the real ``tidal-sync`` command line: an unreachable server, a database
or role that does not exist, a driver nobody has heard of, a string that is no URL at all
and a SQLite file that cannot be created. Each time: exit code 3, exactly one line on
stderr that says which database (password masked) and why, nothing on stdout.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.fixtures.database import run_cli

EXIT_CANNOT_START = 3
PASSWORD = "s3cret"


def the_one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed start, after checking the exit and the streams."""
    assert done.returncode == EXIT_CANNOT_START, done.stderr
    assert "Traceback" not in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tidal-sync: ")
    return lines[0]


@pytest.mark.parametrize(
    ("url", "shown", "reason"),
    [
        pytest.param(
            f"postgresql+psycopg://user:{PASSWORD}@127.0.0.1:1/x",
            "postgresql+psycopg://user:***@127.0.0.1:1/x",
            "Connection refused",
            id="nothing-listens-on-the-port",
        ),
        pytest.param(
            f"postgresql+psycopg://user:{PASSWORD}@no-such-host.invalid/x",
            "postgresql+psycopg://user:***@no-such-host.invalid/x",
            "no-such-host.invalid",
            id="the-host-does-not-resolve",
        ),
        pytest.param(
            f"postgresql+psycopg://nobody_here:{PASSWORD}@127.0.0.1:5432/postgres",
            "postgresql+psycopg://nobody_here:***@127.0.0.1:5432/postgres",
            'role "nobody_here" does not exist',
            id="the-role-does-not-exist",
        ),
        pytest.param(
            "postgresql+psycopg://127.0.0.1:5432/tidal_sync_no_such_database",
            "postgresql+psycopg://127.0.0.1:5432/tidal_sync_no_such_database",
            'database "tidal_sync_no_such_database" does not exist',
            id="the-database-does-not-exist",
        ),
        pytest.param(
            "sqlite:////proc/tidal-sync-cannot-be-here/tidal_sync.db",
            "sqlite:////proc/tidal-sync-cannot-be-here/tidal_sync.db",
            "No such file or directory",
            id="the-sqlite-folder-cannot-be-made",
        ),
    ],
)
def test_a_database_that_cannot_be_opened_is_named_without_its_password(
    url: str, shown: str, reason: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if ":5432/" in url:
        request.getfixturevalue("postgres_url")  # these answers come from a running server
    line = the_one_line(run_cli("db", "upgrade", database_url=url, home=tmp_path))
    assert f"cannot open the database {shown}: " in line
    assert reason in line


def test_an_unknown_driver_says_to_name_an_installed_one(tmp_path: Path) -> None:
    url = f"postgresql+nosuchdriver://user:{PASSWORD}@127.0.0.1/x"
    line = the_one_line(run_cli("db", "upgrade", database_url=url, home=tmp_path))
    assert "no database driver for postgresql+nosuchdriver://user:***@127.0.0.1/x" in line
    assert "postgresql+psycopg://" in line


def test_a_known_database_whose_driver_is_not_installed_says_so(tmp_path: Path) -> None:
    url = f"mysql://user:{PASSWORD}@127.0.0.1:1/x"
    line = the_one_line(run_cli("db", "upgrade", database_url=url, home=tmp_path))
    assert "mysql://user:***@127.0.0.1:1/x" in line


def test_a_string_that_is_no_url_is_refused_without_repeating_it(tmp_path: Path) -> None:
    # Whatever was typed may hold a password, and cannot be parsed to mask it.
    text = f"user {PASSWORD} at my laptop"
    line = the_one_line(run_cli("db", "upgrade", database_url=text, home=tmp_path))
    assert "TIDAL_SYNC_DATABASE_URL is not a database URL" in line


def test_status_fails_the_same_way_as_db_upgrade(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://user:{PASSWORD}@127.0.0.1:1/x"
    line = the_one_line(run_cli("status", database_url=url, home=tmp_path))
    assert "cannot open the database postgresql+psycopg://user:***@127.0.0.1:1/x" in line
