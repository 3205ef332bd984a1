"""scanned_files keeps each file's decode verdict

A file is adopted only when its audio decodes to the end; the verdict is kept
with the file's row (valid while its inode, size and mtime stay the same), so
a rescan does not decode it again, in this process or the next.

Revision ID: damaged_0001
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa

from alembic import op

revision = "damaged_0001"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scanned_files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audio_checked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("audio_damage", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scanned_files", schema=None) as batch_op:
        batch_op.drop_column("audio_damage")
        batch_op.drop_column("audio_checked")
