"""Exchange API credentials set through HMA's API, sealed at rest

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_credentials",
        sa.Column("api", sa.String(length=100), nullable=False),
        sa.Column("credentials", sa.JSON(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("api"),
    )


def downgrade() -> None:
    op.drop_table("exchange_credentials")
