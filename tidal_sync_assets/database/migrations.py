"""Migrating the product database to the newest schema with Alembic.

The product keeps its own version table, ``tidal_sync_alembic_version``, so
it never collides with the ``alembic_version`` of Dagster's own storage when
both live in one database. Upgrades are serialized across processes: a fresh
database's first users are parallel run steps (``tidal_snapshot`` and
``filesystem_snapshot`` start at once under the multiprocess executor), and
two concurrent upgrades both try to create the tables.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Engine, text

VERSION_TABLE = "tidal_sync_alembic_version"
SCRIPT_LOCATION = Path(__file__).resolve().parents[2] / "alembic"
_ADVISORY_LOCK_KEY = zlib.crc32(VERSION_TABLE.encode())


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(SCRIPT_LOCATION)).get_current_head()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Held by one process at a time per database (SQLite: a lock file beside it)."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with FileLock(f"{database}.migrate.lock"):
            yield
    elif engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                )
    else:
        yield


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Migrate to head; returns (revision before, revision after). Idempotent."""
    before = current_revision(engine)
    if before != head_revision():
        with _migration_lock(engine):
            before = current_revision(engine)  # another process may have just migrated
            if before != head_revision():
                command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine)
