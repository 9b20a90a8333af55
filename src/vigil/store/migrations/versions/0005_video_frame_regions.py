"""video frame regions (half-frame hashes that survive large overlays)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


NAMING = {"pk": "pk_%(table_name)s"}  # SQLite's primary key is unnamed; name it while reflecting


def _pk_name() -> str:
    return "video_frames_pkey" if op.get_bind().dialect.name == "postgresql" else "pk_video_frames"


def upgrade() -> None:
    old = _pk_name()
    with op.batch_alter_table("video_frames", recreate="always", naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column("region", sa.String(length=8), nullable=False, server_default="full"))
        batch_op.drop_constraint(old, type_="primary")
        batch_op.create_primary_key(old, ["entry_id", "region", "frame"])


def downgrade() -> None:
    op.execute("DELETE FROM video_frames WHERE region <> 'full'")
    name = _pk_name()
    with op.batch_alter_table("video_frames", recreate="always", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(name, type_="primary")
        batch_op.create_primary_key(name, ["entry_id", "frame"])
        batch_op.drop_column("region")
