"""Reviewer workstation: leases, linked items (no re-exposure, by SHA-256 and PDQ), reviewer settings, wellness limits

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("pdq", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("linked_to", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_review_items_linked_to", "review_items", ["linked_to"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_review_items_linked_to", ["linked_to"])
        batch.create_index("ix_review_items_sha256", ["sha256"])
    op.create_table(
        "review_leases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id", sa.Integer(), sa.ForeignKey("review_items.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("reviewer_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("leased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("item_id", "reviewer_id", name="uq_lease_item_reviewer"),
    )
    op.create_index("ix_review_leases_item_id", "review_leases", ["item_id"])
    op.create_index("ix_review_leases_reviewer_id", "review_leases", ["reviewer_id"])
    op.create_table(
        "reviewer_settings",
        sa.Column("reviewer_id", sa.Integer(), sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("blur", sa.Integer(), nullable=False),
        sa.Column("greyscale", sa.Boolean(), nullable=False),
        sa.Column("preview_size", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "wellness_limits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("break_after", sa.Integer(), nullable=False),
        sa.Column("break_minutes", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wellness_limits")
    op.drop_table("reviewer_settings")
    op.drop_index("ix_review_leases_reviewer_id", table_name="review_leases")
    op.drop_index("ix_review_leases_item_id", table_name="review_leases")
    op.drop_table("review_leases")
    with op.batch_alter_table("review_items") as batch:
        batch.drop_index("ix_review_items_sha256")
        batch.drop_index("ix_review_items_linked_to")
        batch.drop_constraint("fk_review_items_linked_to", type_="foreignkey")
        batch.drop_column("linked_to")
        batch.drop_column("pdq")
