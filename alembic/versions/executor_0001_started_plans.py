"""plans record when a library run began on them; tracks keep their artists as a list

The executor writes its bookkeeping in batches; a run killed between two batches
leaves work on disk the database does not know of. ``plans.started_at`` says that
a run began on the plan, so the next sync looks for that work (``library.recovery``)
and a plan no run began on costs nothing to check.

``tracks.artists`` holds TIDAL's artists as a JSON list, main artist first (matching
by name compares the main artist). A track stored before holds its display string as
its one artist until a snapshot fetches it again.

Revision ID: executor_0001
Revises: djexport_0001
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa

from alembic import op

revision = "executor_0001"
down_revision = "djexport_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("artists", sa.Text(), nullable=False, server_default="[]"))
    tracks = sa.table("tracks", sa.column("id", sa.Integer), sa.column("artist", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(tracks.c.id, tracks.c.artist)).all()
    if rows:
        connection.execute(
            sa.text("UPDATE tracks SET artists = :artists WHERE id = :id"),
            [{"id": id_, "artists": json.dumps([artist], ensure_ascii=False)} for id_, artist in rows],
        )


def downgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_column("artists")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("started_at")
