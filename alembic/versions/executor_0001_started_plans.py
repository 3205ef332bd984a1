"""plans record when a library run first started carrying them out

The executor writes its bookkeeping in batches; a run killed between two batches
leaves work on disk the database does not know of. ``plans.started_at`` says that
a run began on the plan, so the next sync looks for that work (``library.recovery``)
and a plan no run began on costs nothing to check.

Revision ID: executor_0001
Revises: djexport_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa

from alembic import op

revision = "executor_0001"
down_revision = "djexport_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("started_at")
