"""CHECK constraints on every state column (the StrEnums in vigil.core.states)

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Frozen copies of the enum values at this revision (migrations never import application code).
CHECKS = {
    ("hash_lists", "purpose"): ("known", "ignore"),
    ("scans", "status"): ("running", "done", "interrupted"),
    ("scan_items", "status"): ("hashed", "error", "ignored", "low_quality"),
    ("api_keys", "role"): (
        "submitter",
        "reviewer",
        "senior_reviewer",
        "admin",
        "auditor",
        "operator",
        "system",
    ),
    ("review_items", "source"): ("scan", "api", "crawl"),
    ("review_items", "status"): ("pending", "escalated", "confirmed", "rejected"),
    ("review_votes", "decision"): ("confirm", "reject"),
    ("report_submissions", "status"): ("draft", "submitted", "finished", "retracted", "failed"),
    ("block_entries", "kind"): ("domain", "url"),
    ("block_entries", "level"): ("block", "warn"),
    ("block_entries", "status"): ("pending", "approved", "rejected"),
    ("model_status", "status"): ("active", "demoted"),
    ("triage_cases", "status"): ("open", "closed", "merged"),
    ("crawl_jobs", "status"): ("running", "paused", "done"),
    ("crawl_urls", "kind"): ("page", "image"),
    ("crawl_urls", "status"): ("queued", "done", "error", "skipped"),
    ("crawl_hits", "status"): ("pending", "queued", "confirmed", "rejected"),
    ("takedown_notices", "status"): ("open", "removed", "withdrawn"),
}
KEY_ROLES = ("submitter", "reviewer", "senior_reviewer", "admin", "auditor")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    tables: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for (table, column), values in CHECKS.items():
        tables.setdefault(table, []).append((column, values))
    for table, columns in tables.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns:
                batch.create_check_constraint(column, _in(column, values))  # named ck_<table>_<column>
            if table == "api_keys":
                batch.create_check_constraint("key_role", _in("role", KEY_ROLES))


def downgrade() -> None:
    for (table, column), _values in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(column, type_="check")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("key_role", type_="check")
