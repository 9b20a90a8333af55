"""Audit log index by actor, action and time: a reviewer's exposure is counted from it on every page

Revision ID: 0027
Revises: 0026
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_actor_action_at", "audit_log", ["actor", "action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_actor_action_at", table_name="audit_log")
