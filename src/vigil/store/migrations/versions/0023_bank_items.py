"""Bank content per item: an id of its own per added content, not per hash (HMA's model)

The old `bank_contents` keyed a content by (list, entry), so the same hash added twice, or to three
banks, had one id and one note. Each old content becomes an item that keeps its id (its first
signal's entry id) where that id is free; `bank_item_signals` lists the item's hashes.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.Column("disable_until_ts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["hash_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_id", "key", name="uq_bank_items_list_key"),
    )
    op.create_index("ix_bank_items_list_id", "bank_items", ["list_id"])
    op.create_table(
        "bank_item_signals",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["bank_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "entry_id"),
    )
    op.create_index("ix_bank_item_signals_list_entry", "bank_item_signals", ["list_id", "entry_id"])
    # An old content's id was its first signal's entry id; it stays that item's id (in the bank with
    # the lowest id where the same hash was "one content" in several banks; the others get new ids).
    heads = "SELECT * FROM bank_contents WHERE primary_entry_id IS NULL"
    op.execute(
        "INSERT INTO bank_items (id, list_id, key, note, meta, disable_until_ts, created_at) "
        f"SELECT h.entry_id, h.list_id, NULL, h.note, h.meta, h.disable_until_ts, h.created_at FROM ({heads}) h "
        f"WHERE h.list_id = (SELECT MIN(o.list_id) FROM ({heads}) o WHERE o.entry_id = h.entry_id)"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval('bank_items_id_seq', COALESCE((SELECT MAX(id) FROM bank_items), 0) + 1, false)"
        )
    op.execute(
        "INSERT INTO bank_items (list_id, key, note, meta, disable_until_ts, created_at) "
        "SELECT h.list_id, 'migrated-' || CAST(h.entry_id AS VARCHAR(20)), h.note, h.meta, "
        f"h.disable_until_ts, h.created_at FROM ({heads}) h "
        "WHERE NOT EXISTS (SELECT 1 FROM bank_items i WHERE i.id = h.entry_id AND i.list_id = h.list_id)"
    )
    op.execute(
        "INSERT INTO bank_item_signals (item_id, entry_id, list_id) "
        "SELECT i.id, c.entry_id, c.list_id FROM bank_contents c JOIN bank_items i ON i.list_id = c.list_id "
        "AND (i.id = COALESCE(c.primary_entry_id, c.entry_id) AND i.key IS NULL "
        "OR i.key = 'migrated-' || CAST(COALESCE(c.primary_entry_id, c.entry_id) AS VARCHAR(20)))"
    )
    op.execute("UPDATE bank_items SET key = NULL WHERE key LIKE 'migrated-%'")
    op.drop_table("bank_contents")


def downgrade() -> None:
    op.create_table(
        "bank_contents",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("primary_entry_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.Column("disable_until_ts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["hash_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "entry_id"),
    )
    op.drop_index("ix_bank_item_signals_list_entry", "bank_item_signals")
    op.drop_table("bank_item_signals")
    op.drop_index("ix_bank_items_list_id", "bank_items")
    op.drop_table("bank_items")
