"""Albums asked of TIDAL once: album artist, release date, cover image id

``albums`` keeps what TIDAL's album document said for each album a file was tagged
from, so a later sync never asks for that album again.

Revision ID: albums_0001
Revises: djexport_0001
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "albums_0001"
down_revision = "djexport_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "albums",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tidal_id", sa.BigInteger(), nullable=False),
        sa.Column("artist", sa.Text(), nullable=True),
        sa.Column("release_date", sa.String(length=10), nullable=True),
        sa.Column("cover", sa.String(length=64), nullable=True),
        sa.Column("looked_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_albums")),
        sa.UniqueConstraint("tidal_id", name=op.f("uq_albums_tidal_id")),
    )


def downgrade() -> None:
    op.drop_table("albums")
