"""Takedown removal candidates: a state a person confirms, and when the URL first looked gone

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BEFORE = ("open", "removed", "withdrawn")
AFTER = ("open", "candidate", "removed", "withdrawn")


def _in(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("takedown_notices") as batch:
        batch.add_column(sa.Column("candidate_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("present_check", sa.String(length=200), nullable=True))
        batch.drop_constraint("status", type_="check")
        batch.create_check_constraint("status", _in(AFTER))


def downgrade() -> None:
    with op.batch_alter_table("takedown_notices") as batch:
        batch.drop_constraint("status", type_="check")
        batch.create_check_constraint("status", _in(BEFORE))
        batch.drop_column("present_check")
        batch.drop_column("candidate_at")
