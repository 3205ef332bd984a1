"""Migrating the product database to the newest schema with Alembic.

The product keeps its own version table, ``tidal_sync_alembic_version``, so
it never collides with the ``alembic_version`` of Dagster's own storage when
both live in one database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

VERSION_TABLE = "tidal_sync_alembic_version"
SCRIPT_LOCATION = Path(__file__).resolve().parents[2] / "alembic"


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


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Migrate to head; returns (revision before, revision after). Idempotent."""
    before = current_revision(engine)
    if before != head_revision():
        command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine)
