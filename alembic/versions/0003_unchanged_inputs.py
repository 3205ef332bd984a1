"""What a no-change sync needs to skip work: change counts and the plan's inputs

tidal_snapshots.changed and scans.changes say whether a snapshot changed
anything; plans.inputs names the settings a plan was computed with, so an
empty plan whose inputs have not changed since is reused instead of
recomputed. tracks.album_id is indexed: tagging sets each album's artist by it.
NULL in the new columns (rows written before this revision) means "changed".

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracks_album_id"), ["album_id"], unique=False)
    with op.batch_alter_table("tidal_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changed", sa.Boolean(), nullable=True))
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", sa.Integer(), nullable=True))
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inputs", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("inputs")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_column("changes")
    with op.batch_alter_table("tidal_snapshots", schema=None) as batch_op:
        batch_op.drop_column("changed")
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracks_album_id"))
