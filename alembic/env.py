"""Alembic environment for the product database.

Runs on the engine handed over by ``tidal_sync_assets.database.migrations``
or, from the ``alembic`` command line, on ``TIDAL_SYNC_DATABASE_URL``.
"""

from alembic import context

from tidal_sync_assets.database.engine import make_engine
from tidal_sync_assets.database.migrations import VERSION_TABLE
from tidal_sync_assets.database.models import Base
from tidal_sync_assets.settings import Settings

engine = context.config.attributes.get("engine") or make_engine(Settings.from_env().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
