"""Migrating the product database to the newest schema with Alembic.

The product keeps its own version table, ``tidal_sync_alembic_version``, so
it never collides with the ``alembic_version`` of Dagster's own storage when
both live in one database. Upgrades are serialized across processes: a fresh
database's first users are parallel run steps (``tidal_snapshot`` and
``filesystem_snapshot`` start at once under the multiprocess executor), and
two concurrent upgrades both try to create the tables.

Whether there is anything to migrate is read without Alembic: the database's
revision with one query, the newest revision from the migration files' text.
Importing Alembic (a few hundred milliseconds) is paid only to migrate, so a
command that finds the database at head starts as fast as it can.
"""

from __future__ import annotations

import ast
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock
from sqlalchemy import Column, Engine, MetaData, String, Table, inspect, select, text

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "tidal_sync_alembic_version"
SCRIPT_LOCATION = Path(__file__).resolve().parents[2] / "alembic"
_ADVISORY_LOCK_KEY = zlib.crc32(VERSION_TABLE.encode())
_REVISION_NAMES = ("revision", "down_revision")
_VERSIONS = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32)))


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None before its first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        found = connection.execute(select(_VERSIONS.c.version_num)).scalars().all()
    return found[0] if len(found) == 1 else None


def head_revision() -> str | None:
    """The newest revision: the one no migration file names as its ``down_revision``
    (None unless there is exactly one). Read from the files' text, not by importing
    them; tests/test_migrations.py holds it equal to what Alembic finds."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (SCRIPT_LOCATION / "versions").glob("*.py"):
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.Assign):
                continue
            target = node.targets[0]
            if not isinstance(target, ast.Name) or target.id not in _REVISION_NAMES:
                continue
            value = ast.literal_eval(node.value)
            if target.id == "revision":
                revisions.add(value)
            elif value is not None:  # down_revision: one, or several for a merge
                revised.update([value] if isinstance(value, str) else value)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


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
                from alembic import command

                command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine)
