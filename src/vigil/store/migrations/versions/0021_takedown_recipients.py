"""Takedown recipients: each notice's role (site, hosting, cdn, hotline) and where the URL was hosted

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("takedown_notices") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="site"))
        batch.add_column(sa.Column("ip", sa.String(length=45), nullable=True))
        batch.add_column(sa.Column("asn", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("provider", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("takedown_notices") as batch:
        for column in ("country", "provider", "asn", "ip", "role"):
            batch.drop_column(column)
