"""Migrating the product database, on SQLite and on PostgreSQL.

Scenarios: an empty database is brought to head; a second upgrade changes nothing; the
migrated schema is exactly the models' schema; the product's Alembic version table never
collides with Dagster's own ``alembic_version``; ``tidal-sync db upgrade`` says what it did.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, make_url, text

from tests.fixtures.database import run_cli
from tidal_sync_assets.database import Base, make_engine, redact
from tidal_sync_assets.database.migrations import (
    SCRIPT_LOCATION,
    VERSION_TABLE,
    current_revision,
    head_revision,
    upgrade,
)

REPO = Path(__file__).resolve().parents[1]
PRODUCT_TABLES = {
    "tracks",
    "playlists",
    "playlist_tracks",
    "tidal_snapshots",
    "scans",
    "scanned_files",
    "plans",
    "plan_actions",
    "run_failures",
    "rekordbox_tracks",
    "dj_exports",
    "albums",
}


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    """A connection to an empty database, not migrated yet."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_an_empty_database_is_upgraded_to_head(empty_engine: Engine) -> None:
    assert table_names(empty_engine) == set()
    assert current_revision(empty_engine) is None

    before, after = upgrade(empty_engine)

    head = head_revision()
    assert head is not None
    assert (before, after) == (None, head)
    assert current_revision(empty_engine) == head
    assert table_names(empty_engine) == PRODUCT_TABLES | {VERSION_TABLE}


def test_the_revisions_read_without_alembic_are_alembics(empty_engine: Engine) -> None:
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert current_revision(empty_engine) == context.get_current_revision() is None
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert current_revision(empty_engine) == context.get_current_revision() is not None
    assert head_revision() == ScriptDirectory(str(SCRIPT_LOCATION)).get_current_head()


def test_upgrading_again_is_a_no_op(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    tables = table_names(empty_engine)

    before, after = upgrade(empty_engine)

    assert before == after == head_revision()
    assert table_names(empty_engine) == tables


def schema_differences(engine: Engine) -> list[object]:
    """What Alembic's autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "version_table": VERSION_TABLE,
                "target_metadata": Base.metadata,
            },
        )
        return list(compare_metadata(context, Base.metadata))


def test_the_migrated_schema_is_exactly_the_models(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert schema_differences(empty_engine) == []


def test_a_schema_that_drifted_from_the_models_is_noticed(empty_engine: Engine) -> None:
    # The comparison above can fail: a database missing one index differs from the models.
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_tracks_isrc"))
    differences = schema_differences(empty_engine)
    assert len(differences) == 1
    assert "add_index" in repr(differences[0]) and "ix_tracks_isrc" in repr(differences[0])


def test_the_version_table_is_the_products_own_so_dagster_storage_can_share_the_database(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine)
    tables = table_names(empty_engine)
    assert VERSION_TABLE == "tidal_sync_alembic_version"
    assert "tidal_sync_alembic_version" in tables
    assert "alembic_version" not in tables


def test_db_upgrade_on_the_command_line_upgrades_then_says_it_is_already_at_head(
    database_url: str, tmp_path: Path
) -> None:
    head = head_revision()
    shown = redact(database_url)

    first = run_cli("db", "upgrade", database_url=database_url, home=tmp_path)
    assert (first.returncode, first.stderr) == (0, ""), first.stderr
    assert first.stdout.strip() == f"{shown} upgraded from empty to {head}"

    second = run_cli("db", "upgrade", database_url=database_url, home=tmp_path)
    assert (second.returncode, second.stderr) == (0, ""), second.stderr
    assert second.stdout.strip() == f"{shown} is already at revision {head}"

    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head
        assert "alembic_version" not in table_names(engine)
    finally:
        engine.dispose()


def test_db_upgrade_uses_the_default_sqlite_file_in_dagster_home(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TIDAL_SYNC_DATABASE_URL"}
    env["DAGSTER_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "tidal_sync_assets.cli", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    database = tmp_path / "home" / "tidal_sync.db"
    assert database.is_file()
    assert make_url(done.stdout.split()[0]).database == str(database)
