"""tracks.album_id is indexed: tagging sets each album's artist by album id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_tracks_album_id"), "tracks", ["album_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tracks_album_id"), table_name="tracks")
