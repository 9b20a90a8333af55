"""Reports: one per item (report_files), validated status and failure reason; reviewer flags

Revision ID: 0014
Revises: 0013

Items that had several drafts keep the earliest as their report; the later duplicates are marked
failed with the reason, so nothing is deleted and none of them can be sent a second time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD = ("draft", "submitted", "finished", "retracted", "failed")
NEW = ("draft", "validated", "submitted", "finished", "retracted", "failed")


def _in(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("report_submissions") as batch:
        batch.drop_constraint("status", type_="check")
        batch.create_check_constraint("status", _in(NEW))
        batch.add_column(sa.Column("account_key", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("failure", sa.Text(), nullable=True))
        batch.add_column(sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_report_submissions_account_key", ["account_key"])
    op.create_table(
        "report_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("remote_file_id", sa.String(length=64), nullable=True),
        sa.Column("details_xml", sa.Text(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["report_submissions.id"]),
        sa.ForeignKeyConstraint(["review_item_id"], ["review_items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_item_id"),
    )
    op.create_index("ix_report_files_submission_id", "report_files", ["submission_id"])
    op.execute(
        "INSERT INTO report_files (submission_id, review_item_id, added_at) "
        "SELECT MIN(id), review_item_id, MIN(created_at) FROM report_submissions GROUP BY review_item_id"
    )
    op.execute(
        "UPDATE report_submissions SET status = 'failed', failure = 'superseded: an earlier report "
        "exists for the same item (migration 0014)' WHERE id NOT IN (SELECT submission_id FROM report_files)"
    )
    for table in ("review_items", "review_votes"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("flags", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("review_items", "review_votes"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("flags")
    op.drop_index("ix_report_files_submission_id", table_name="report_files")
    op.drop_table("report_files")
    op.execute("UPDATE report_submissions SET status = 'draft' WHERE status = 'validated'")
    with op.batch_alter_table("report_submissions") as batch:
        batch.drop_index("ix_report_submissions_account_key")
        batch.drop_column("validated_at")
        batch.drop_column("failure")
        batch.drop_column("account_key")
        batch.drop_constraint("status", type_="check")
        batch.create_check_constraint("status", _in(OLD))
