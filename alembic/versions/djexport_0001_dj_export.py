"""DJ fields on tracks, stable Rekordbox TrackIDs and a row per DJ export

``playlists`` gains the TIDAL folder a playlist sits in; ``tracks`` gains what TIDAL says about a track for DJs (BPM, musical key,
release date); ``rekordbox_tracks`` gives each TIDAL track a TrackID that
never changes and remembers where the XML last located it; ``dj_exports``
records each export.

Revision ID: djexport_0001
Revises: audio_0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "djexport_0001"
down_revision = "audio_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bpm", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("musical_key", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("release_date", sa.String(length=10), nullable=True))
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tidal_folder", sa.Text(), nullable=True))
    op.create_table(
        "rekordbox_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tidal_id", sa.BigInteger(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rekordbox_tracks")),
        sa.UniqueConstraint("tidal_id", name=op.f("uq_rekordbox_tracks_tidal_id")),
    )
    op.create_table(
        "dj_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("written", sa.Boolean(), nullable=False),
        sa.Column("tracks", sa.Integer(), nullable=False),
        sa.Column("playlists", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dj_exports")),
    )


def downgrade() -> None:
    op.drop_table("dj_exports")
    op.drop_table("rekordbox_tracks")
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.drop_column("tidal_folder")
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_column("release_date")
        batch_op.drop_column("musical_key")
        batch_op.drop_column("bpm")
