"""tracks.file_path and playlist_tracks.symlink_path are indexed

Forgetting an unlinked or trashed path looked it up in both tables with a
scan of every row (20 ms a path on 150,000 entries).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracks_file_path"), ["file_path"], unique=False)
    with op.batch_alter_table("playlist_tracks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_playlist_tracks_symlink_path"), ["symlink_path"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("playlist_tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playlist_tracks_symlink_path"))
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracks_file_path"))
