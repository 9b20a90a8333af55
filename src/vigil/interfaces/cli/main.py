"""The `vigil` command line: one obvious command per job, each a thin adapter over the domain layer.

Every command that changes state takes `--actor` (or `$VIGIL_ACTOR`) and its domain call writes the
audit event; a `VigilError` anywhere prints as `error: ...` with exit status 2.
"""

from __future__ import annotations

from vigil.interfaces.cli.admin import audit_app, keys_app, models_app, review_app, serve
from vigil.interfaces.cli.blocking import blocklist_app, search_app, stop_page
from vigil.interfaces.cli.common import App
from vigil.interfaces.cli.crawl import crawl_app, sites_app, takedown_app
from vigil.interfaces.cli.evidence import evidence_app
from vigil.interfaces.cli.exchanges import exchanges_app
from vigil.interfaces.cli.finance import finance_app
from vigil.interfaces.cli.lists import lists_app
from vigil.interfaces.cli.p2p import p2p_app
from vigil.interfaces.cli.reports import reports_app
from vigil.interfaces.cli.scan import hash_file, report, scan
from vigil.interfaces.cli.text import text_app
from vigil.interfaces.cli.triage import triage_app
from vigil.interfaces.cli.worker import worker

app = App(help="Vigil: match files against known-material hash lists for human review.")
app.command("scan")(scan)
app.command("hash")(hash_file)
app.command("report")(report)
app.command("serve")(serve)
app.command("worker")(worker)
app.command("stop-page")(stop_page)
for sub, name in (
    (lists_app, "lists"),
    (keys_app, "keys"),
    (audit_app, "audit"),
    (review_app, "review"),
    (reports_app, "reports"),
    (evidence_app, "evidence"),
    (models_app, "models"),
    (blocklist_app, "blocklist"),
    (search_app, "search-warning"),
    (text_app, "text"),
    (finance_app, "finance"),
    (triage_app, "triage"),
    (p2p_app, "p2p"),
    (exchanges_app, "exchanges"),
    (crawl_app, "crawl"),
    (takedown_app, "takedown"),
    (sites_app, "sites"),
):
    app.add_typer(sub, name=name)

if __name__ == "__main__":  # pragma: no cover
    app()
