"""Exchanges: when a running fetch started (the per-exchange lock) and whether the last fetch ran
to the end of the exchange's data

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchanges") as batch:
        batch.add_column(sa.Column("fetch_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("up_to_date", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_column("up_to_date")
        batch.drop_column("fetch_started_at")
