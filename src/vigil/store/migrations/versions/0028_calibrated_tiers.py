"""Calibrated match tiers: per-list calibrations, each scan match's tier, known pictures' ORB keypoints

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "list_calibrations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "list_id", sa.Integer(), sa.ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.Integer(), nullable=False),
        sa.Column("codes", sa.Integer(), nullable=False),
        sa.Column("sampled", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.BigInteger(), nullable=False),
        sa.Column("closest", sa.Integer(), nullable=False),
        sa.Column("quantiles", sa.JSON(), nullable=False),
        sa.Column("slope", sa.Float(), nullable=False),
        sa.Column("intercept", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("strong_radius", sa.Integer(), nullable=False),
        sa.Column("weak_radius", sa.Integer(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
    )
    op.create_index("ix_list_calibrations_list_id", "list_calibrations", ["list_id"])
    with op.batch_alter_table("scan_matches") as batch:
        batch.add_column(sa.Column("tier", sa.String(length=8), nullable=True))
    op.create_table(
        "entry_features",
        sa.Column(
            "entry_id", sa.Integer(), sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("points", sa.LargeBinary(), nullable=False),
        sa.Column("descriptors", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("entry_features")
    with op.batch_alter_table("scan_matches") as batch:
        batch.drop_column("tier")
    op.drop_index("ix_list_calibrations_list_id", table_name="list_calibrations")
    op.drop_table("list_calibrations")
