"""Page-to-image references of a crawl, so a resumed crawl keeps every (page, image) finding

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crawl_refs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("image_key", sa.String(length=40), nullable=False),
        sa.Column("page_key", sa.String(length=40), nullable=False),
        sa.Column("page_url", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["crawl_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "image_key", "page_key", name="uq_crawl_ref"),
    )
    op.create_index("ix_crawl_refs_image_key", "crawl_refs", ["image_key"])


def downgrade() -> None:
    op.drop_index("ix_crawl_refs_image_key", table_name="crawl_refs")
    op.drop_table("crawl_refs")
