"""The PostgreSQL deployment: Dagster's storage and the product database both on PostgreSQL.

DAGSTER_HOME holds ``deploy/dagster.postgres.yaml`` exactly as the deployment guide
says to install it, filled in from the environment; the product database is a second,
separate PostgreSQL database. ``tidal-sync sync`` then runs against the sandbox TIDAL,
and both databases are read back with plain SQL.
"""

from __future__ import annotations

import getpass
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from sqlalchemy import create_engine, make_url, select, text

from tests.fixtures.database import POSTGRES_ADMIN_URL
from tidal_sync_assets.cli import commands as cli
from tidal_sync_assets.database import (
    DownloadStatus,
    Playlist,
    PlaylistSyncStatus,
    Track,
    make_engine,
)
from tidal_sync_assets.defs.partitions import PLAYLIST_PARTITIONS
from tidal_sync_assets.sandbox.server import SandboxServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[1]
DEPLOY_INSTANCE = REPO / "deploy" / "dagster.postgres.yaml"


@pytest.fixture
def dagster_database(postgres_url: str) -> Iterator[str]:
    """A second fresh database beside the product's: Dagster's own storage."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tidal_sync_dagster_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_deployment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: SandboxServer,
    sandbox_session_file: Path,
    postgres_url: str,
    dagster_database: str,
) -> Iterator[str]:
    """The environment of a PostgreSQL deployment; yields Dagster's storage URL."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_INSTANCE, home / "dagster.yaml")
    server = make_url(POSTGRES_ADMIN_URL)
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": server.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(server.port or 5432),
        "DAGSTER_PG_DB": dagster_database,
        "DAGSTER_PG_USERNAME": server.username or getpass.getuser(),
        "DAGSTER_PG_PASSWORD": server.password or "",
        "TIDAL_SYNC_DATABASE_URL": postgres_url,
        "TIDAL_SYNC_API_BASE": sandbox.base_url,
        "TIDAL_SYNC_SESSION_FILE": str(sandbox_session_file),
        "TIDAL_SYNC_LIBRARY_ROOT": str(tmp_path / "library"),
        "TIDAL_SYNC_RATE_LIMIT": "1000",
        "TIDAL_SYNC_CDN_RATE_LIMIT": "10000",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield str(server.set(database=dagster_database))


def test_a_sync_on_postgresql_records_its_runs_and_playlists_there(
    postgres_deployment: str, postgres_url: str, sandbox: SandboxServer
) -> None:
    code = cli.main(["sync"])

    assert code == 0
    own = {p.uuid for p in sandbox.catalog.own_playlists()}

    # Dagster's storage is the PostgreSQL database of deploy/dagster.postgres.yaml.
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        runs = instance.get_runs()
        assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS] * 3
        assert {r.tags.get("tidal-sync/step") for r in runs} == {"plan", "library", "export"}
        assert set(instance.get_dynamic_partitions(PLAYLIST_PARTITIONS)) == own
    storage = create_engine(postgres_deployment)
    try:
        with storage.connect() as connection:
            recorded = connection.execute(text("SELECT run_id, status FROM runs")).all()
    finally:
        storage.dispose()
    assert sorted(recorded) == sorted((r.run_id, "SUCCESS") for r in runs)

    # The product's tables are in the other PostgreSQL database, and hold the sync.
    product = make_engine(postgres_url)
    try:
        with product.connect() as connection:
            playlists = dict(
                connection.execute(select(Playlist.tidal_id, Playlist.sync_status)).tuples().all()
            )
            downloaded = connection.execute(
                select(Track.tidal_id).where(Track.download_status == DownloadStatus.DOWNLOADED)
            ).all()
            tables = set(
                connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                ).scalars()
            )
    finally:
        product.dispose()
    assert {
        uuid for uuid, status in playlists.items() if status is PlaylistSyncStatus.IN_SYNC
    } == own
    wanted = {t for p in sandbox.catalog.own_playlists() for t in p.track_ids}
    streamable = {
        t for t in wanted if (track := sandbox.catalog.track(t)) and track.allow_streaming
    }
    assert {row.tidal_id for row in downloaded} == streamable
    assert "runs" not in tables  # Dagster's storage did not land in the product database
