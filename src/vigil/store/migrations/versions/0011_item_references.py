"""Scan items identified by reference (raw path bytes and member positions), 64-bit sizes, heartbeats

Revision ID: 0011
Revises: 0010
"""

import hashlib
import json
import os

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ITEM_STATES = ("hashed", "error", "skipped", "ignored", "low_quality")


def _ref(label: str) -> str:
    """The reference of an item stored before 0011: its label was `path!member!member`."""
    head, *members = label.split("!")
    return json.dumps([os.fsencode(head).hex(), [["zip", i, m] for i, m in enumerate(members)]])


def upgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("ref", sa.Text(), nullable=True))
    with op.batch_alter_table("evidence") as batch:
        batch.alter_column("size", type_=sa.BigInteger(), existing_type=sa.Integer())
    with op.batch_alter_table("scan_items") as batch:
        batch.add_column(sa.Column("ref", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ref_key", sa.String(length=40), nullable=True))
        batch.alter_column("size", type_=sa.BigInteger(), existing_type=sa.Integer())
    connection = op.get_bind()
    items = sa.table(
        "scan_items",
        sa.column("id", sa.Integer),
        sa.column("path", sa.Text),
        sa.column("ref", sa.Text),
        sa.column("ref_key", sa.String),
    )
    rows = connection.execute(sa.select(items.c.id, items.c.path)).all()
    for row_id, path in rows:
        ref = _ref(path)
        connection.execute(
            items.update()
            .where(items.c.id == row_id)
            .values(ref=ref, ref_key=hashlib.sha1(ref.encode()).hexdigest())
        )
    with op.batch_alter_table("scan_items") as batch:
        batch.alter_column("ref_key", existing_type=sa.String(length=40), nullable=False)
        batch.drop_constraint("uq_scan_item_path", type_="unique")
        batch.create_unique_constraint("uq_scan_item_ref", ["scan_id", "ref_key"])
        batch.drop_constraint("status", type_="check")
        batch.create_check_constraint("status", "status IN (" + ", ".join(repr(s) for s in ITEM_STATES) + ")")


def downgrade() -> None:
    with op.batch_alter_table("scan_items") as batch:
        batch.drop_constraint("uq_scan_item_ref", type_="unique")
        batch.create_unique_constraint("uq_scan_item_path", ["scan_id", "path"])
        batch.drop_column("ref_key")
        batch.drop_column("ref")
    with op.batch_alter_table("review_items") as batch:
        batch.drop_column("ref")
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("heartbeat_at")
