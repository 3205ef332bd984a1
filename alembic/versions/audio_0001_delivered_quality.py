"""tracks record what TIDAL delivered for the stored file: quality, codec, rate, depth

Revision ID: audio_0001
Revises: damaged_0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "audio_0001"
down_revision = "damaged_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audio_quality", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("codec", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("sample_rate", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("bit_depth", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_column("bit_depth")
        batch_op.drop_column("sample_rate")
        batch_op.drop_column("codec")
        batch_op.drop_column("audio_quality")
