"""Personal data sealed at rest (contexts, report bodies, account keys); MACs on custody events

Revision ID: 0017
Revises: 0016

Rows written before this revision held IPs, e-mails and account names in plaintext. They are sealed
here with the data key ($VIGIL_DATA_KEY or $VIGIL_DATA_KEY_FILE), so run the upgrade as the service
would run, with its key. The column types do not change (a sealed value is a JSON string).
"""

import json

import sqlalchemy as sa
from alembic import op

from vigil.store.sealed import blind_index, is_sealed, seal

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

JSON_COLUMNS = (("review_items", "context"), ("evidence", "context"))


def upgrade() -> None:
    # a plain ALTER TABLE (not a batch copy), so the triggers that keep the table append-only stay
    op.add_column("custody_events", sa.Column("mac", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    for table_name, column in JSON_COLUMNS:
        table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column, sa.JSON))
        label = f"{table_name}.{column}"
        for row_id, value in bind.execute(sa.select(table.c.id, table.c[column])).all():
            if value is None or is_sealed(value):
                continue
            sealed = seal(json.dumps(value, sort_keys=True, default=str), label)
            bind.execute(table.update().where(table.c.id == row_id).values({column: sealed}))
    reports = sa.table(
        "report_submissions",
        sa.column("id", sa.Integer),
        sa.column("report_xml", sa.Text),
        sa.column("account_key", sa.String),
    )
    for row_id, xml, key in bind.execute(
        sa.select(reports.c.id, reports.c.report_xml, reports.c.account_key)
    ).all():
        values = {}
        if xml is not None and not is_sealed(xml):
            values["report_xml"] = seal(xml, "report_submissions.report_xml")
        if key is not None and not key.startswith("k1:"):
            values["account_key"] = blind_index(key)
        if values:
            bind.execute(reports.update().where(reports.c.id == row_id).values(values))


def downgrade() -> None:
    with op.batch_alter_table("custody_events") as batch:
        batch.drop_column("mac")
    # sealed values stay sealed: the models before 0017 cannot read them
