"""Shares recorded before sending: status (pending, sent, failed), attempts, last error, confirmation

Rows from before were written only after a successful send: they are `sent`.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_shares") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="sent"))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchange_shares") as batch:
        batch.drop_column("confirmed_at")
        batch.drop_column("error")
        batch.drop_column("attempts")
        batch.drop_column("status")
