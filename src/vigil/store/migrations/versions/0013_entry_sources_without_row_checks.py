"""entry_sources without foreign keys: imports publish them set-based, lists delete them explicitly

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _without_keys() -> sa.Table:
    return sa.Table(
        "entry_sources",
        sa.MetaData(),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("origin", sa.String(length=500), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "list_id"),
        sa.Index("ix_entry_sources_list", "list_id"),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop an unnamed foreign key: rebuild the table from a definition without them.
        with op.batch_alter_table("entry_sources", copy_from=_without_keys(), recreate="always"):
            pass
        return
    op.drop_constraint("entry_sources_entry_id_fkey", "entry_sources", type_="foreignkey")
    op.drop_constraint("entry_sources_list_id_fkey", "entry_sources", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("entry_sources") as batch:
        batch.create_foreign_key(
            "entry_sources_entry_id_fkey", "entries", ["entry_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            "entry_sources_list_id_fkey", "hash_lists", ["list_id"], ["id"], ondelete="CASCADE"
        )
