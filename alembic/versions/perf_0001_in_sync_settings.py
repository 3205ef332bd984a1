"""plans.in_sync_settings: the settings of a sync that found its plan in sync

A `tidal-sync sync` that ends with every playlist in sync marks the latest plan with the
fingerprint of its settings; the next sync checks that nothing changed since (TIDAL's
playlist list, the disk, the settings) before it starts Dagster at all.

Revision ID: perf_0001
Revises: djexport_0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "perf_0001"
down_revision = "djexport_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_sync_settings", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("in_sync_settings")
