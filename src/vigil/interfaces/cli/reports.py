"""`vigil reports ...`: clearinghouse reports for confirmed items (draft, show, list, submit).

Settings come from the environment, as for `vigil serve`: $VIGIL_REPORTER_EMAIL and
$VIGIL_CLEARINGHOUSE_URL / _USER / _PASSWORD; the schema from $VIGIL_CYBERTIP_XSD.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigil.interfaces.cli.common import ActorOption, App, DbOption, console, open_store, operator

reports_app = App(help="CyberTipline reports: draft (validated against NCMEC's XSD), show, list, submit.")


def _print(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(view, default=str))
        return
    score = view.get("actionability") or {}
    console.print(
        f"report {view['report_id']}: {view['status']}"
        + (f", clearinghouse id {view['remote_id']}" if view.get("remote_id") else "")
        + f"; items {', '.join(map(str, view.get('items', [])))}"
        + (f"; actionability {score.get('score')}/100" if score else "")
        + (" (actionable)" if score.get("actionable") else "")
    )
    if view.get("failure"):
        console.print(f"[red]failed:[/] {view['failure']}")
    if "incident_time" in view:
        console.print(f"incident time {view['incident_time']['value']}: {view['incident_time']['why']}")
    for f in view.get("files", []):
        viewed = f["fileViewedByEsp"]
        classification = f["industryClassification"]
        console.print(
            f"  item {f['item']} {f['name'] or ''}: fileViewedByEsp={str(viewed['value']).lower()} "
            f"({viewed['why']}); industryClassification={classification['value'] or '-'} "
            f"({classification['why']})"
        )
    for missing in score.get("missing", []):
        console.print(f"  [yellow]missing[/] {missing['item']}: add {missing['add']}")


@reports_app.command("draft")
def draft(
    item_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report view as JSON")] = False,
    xml: Annotated[Path | None, typer.Option(help="Also write the report XML here")] = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Draft (or refresh) the report for a confirmed item; it is validated against the XSD first."""
    from vigil.actions.reports import domain as reports

    view = reports.draft(open_store(db), operator(actor), item_id, reports.ReportSettings.from_env())
    if xml:
        xml.write_text(view["xml"], encoding="utf-8")
    _print(view, as_json)


@reports_app.command("show")
def show(
    report_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report view as JSON")] = False,
    db: DbOption = None,
) -> None:
    """One report: status, failure reason, and why each legal statement says what it says."""
    from vigil.actions.reports import domain as reports

    _print(reports.show(open_store(db), report_id, reports.ReportSettings.from_env()), as_json)


@reports_app.command("list")
def list_(db: DbOption = None) -> None:
    """Every report with its status (draft, validated, submitted, finished, retracted, failed)."""
    from vigil.actions.reports import domain as reports

    table = Table("report", "status", "clearinghouse id", "items", "score", "actionable", "failure")
    for row in reports.listing(open_store(db)):
        table.add_row(
            str(row["report_id"]),
            row["status"],
            row["remote_id"] or "",
            ", ".join(map(str, row["items"])),
            str(row["score"] if row["score"] is not None else ""),
            "yes" if row["actionable"] else "no",
            row["failure"] or "",
        )
    console.print(table)


@reports_app.command("submit")
def submit(
    report_id: int,
    evidence_dir: Annotated[Path, typer.Option(help="Evidence vault folder")] = Path("vigil-evidence"),
    key_file: Annotated[Path | None, typer.Option(help="Evidence key file (or $VIGIL_EVIDENCE_KEY)")] = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Send a validated report with its preserved files to the configured clearinghouse."""
    from vigil.actions.reports import domain as reports
    from vigil.review.evidence import Vault

    result = reports.submit(
        open_store(db),
        operator(actor),
        report_id,
        Vault.open(evidence_dir, key_file),
        reports.ReportSettings.from_env(),
    )
    console.print(f"report {report_id}: {result['status']}, clearinghouse id {result['remote_id']}")
