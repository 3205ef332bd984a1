"""plans.in_sync_settings: the settings of a sync that found its plan in sync; an index
on tracks.audio_quality

A `tidal-sync sync` that ends with every playlist in sync marks the latest plan with the
fingerprint of its settings; the next sync checks that nothing changed since (TIDAL's
playlist list, the disk, the settings) before it starts Dagster at all. Every playlist of
a library run counts the tracks delivered below the wanted quality: an index lookup, not
a scan of every track.

Revision ID: perf_0001
Revises: executor_0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "perf_0001"
down_revision = "executor_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_sync_settings", sa.String(length=64), nullable=True))
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tracks_audio_quality"), ["audio_quality"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracks_audio_quality"))
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("in_sync_settings")
