"""The executor's batches, track artists as a list, what files were tagged and written with

The executor writes its bookkeeping in batches; a run killed between two batches
leaves work on disk the database does not know of. ``plans.started_at`` says that
a run began on the plan, so the next sync looks for that work (``library.recovery``)
and a plan no run began on costs nothing to check.

``tracks.artists`` holds TIDAL's artists as a JSON list, main artist first (matching
by name compares the main artist). A track stored before holds its display string as
its one artist until a snapshot fetches it again.

``tracks.tagged_*`` record the values a primary's DJ tags were written from, so a
change of TIDAL's BPM, key or release date re-tags the file in place. A primary
placed before is taken to carry the values stored now, in the notation set now.

``playlists.m3u8_paths`` records what the entries of a playlist's M3U8 name (its
folder's files or the primaries), so changing ``TIDAL_SYNC_M3U8_PATHS`` rewrites every
M3U8. One written before names its folder's files (the default).

Revision ID: executor_0001
Revises: albums_0001
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa

from alembic import op

revision = "executor_0001"
down_revision = "albums_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("artists", sa.Text(), nullable=False, server_default="[]"))
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tagged_bpm", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("tagged_key", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("tagged_release_date", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("tagged_notation", sa.String(length=8), nullable=True))
    op.execute(
        "UPDATE tracks SET tagged_bpm = bpm, tagged_key = musical_key, "
        "tagged_release_date = release_date WHERE file_path IS NOT NULL"
    )
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("m3u8_paths", sa.String(length=8), nullable=True))
    op.execute("UPDATE playlists SET m3u8_paths = 'folder' WHERE local_folder_path IS NOT NULL")
    tracks = sa.table("tracks", sa.column("id", sa.Integer), sa.column("artist", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(tracks.c.id, tracks.c.artist)).all()
    if rows:
        connection.execute(
            sa.text("UPDATE tracks SET artists = :artists WHERE id = :id"),
            [{"id": id_, "artists": json.dumps([artist], ensure_ascii=False)} for id_, artist in rows],
        )


def downgrade() -> None:
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.drop_column("m3u8_paths")
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_column("tagged_notation")
        batch_op.drop_column("tagged_release_date")
        batch_op.drop_column("tagged_key")
        batch_op.drop_column("tagged_bpm")
        batch_op.drop_column("artists")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("started_at")
