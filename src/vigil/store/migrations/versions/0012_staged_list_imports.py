"""List imports staged and published in one step

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "list_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("new_entries", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('staging', 'published', 'failed', 'superseded')", name=op.f("ck_list_imports_status")
        ),
        sa.ForeignKeyConstraint(["list_id"], ["hash_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("list_imports") as batch:
        batch.create_index(batch.f("ix_list_imports_list_id"), ["list_id"], unique=False)
    op.create_table(
        "list_import_rows",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("hash_type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("origin", sa.String(length=500), nullable=True),
        sa.Column("frames", sa.Text(), nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Staged rows need no crash safety (an import cut short is superseded anyway), so no WAL.
        op.execute("ALTER TABLE list_import_rows SET UNLOGGED")


def downgrade() -> None:
    op.drop_table("list_import_rows")
    op.drop_table("list_imports")
