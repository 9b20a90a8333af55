"""`vigil triage ...`: incoming reports to prioritised cases."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vigil.core.errors import ItemError, NotFound, VigilError
from vigil.interfaces.cli.common import ActorOption, App, DbOption, console, err, open_store, operator

if TYPE_CHECKING:
    from vigil.core.actor import Actor
    from vigil.sources.triage.pipeline import TriageResult
    from vigil.store.db import Store

triage_app = App(help="Incoming reports: intake, completeness, case linking, priority.")
GeoOption = Annotated[Path | None, typer.Option(help="GeoIP/ASN ranges CSV (network,country,asn,...)")]
SharedOption = Annotated[Path | None, typer.Option(help="VPN/hosting ranges CSV (network,label)")]


def _skipped(problems: list[ItemError], what: str = "rejected") -> None:
    for p in problems[:50]:
        err.print(f"[yellow]{what}[/] {p}")
    if len(problems) > 50:
        err.print(f"[yellow]... and {len(problems) - 50} more {what}[/]")


@triage_app.command("import")
def import_(
    paths: Annotated[
        list[Path], typer.Argument(help="Bundles: .xml, .json, .jsonl (one per line) or folders")
    ],
    timezone: Annotated[
        list[str] | None,
        typer.Option(help="SERVICE=ZONE: read this service's times without an offset in ZONE (* = any)"),
    ] = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Store incoming reports; a malformed bundle is rejected with every reason, the rest go on."""
    from vigil.sources.triage import casebook
    from vigil.sources.triage.intake import read_bundles

    who = operator(actor)
    intake = read_bundles(paths, _zones(timezone or []))
    _skipped(intake.rejected)
    count = casebook.import_reports(open_store(db), who, intake.reports, len(intake.rejected))
    console.print(
        f"{count.added} reports added, {count.already_known} already known, "
        f"{len(intake.rejected)} bundles rejected"
    )


def _zones(pairs: list[str]) -> dict[str, tzinfo]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    zones: dict[str, tzinfo] = {}
    for pair in pairs:
        service, sep, name = pair.partition("=")
        if not sep or not service.strip():
            raise VigilError(f"--timezone {pair!r}: write SERVICE=ZONE, e.g. videosite=America/Los_Angeles")
        try:
            zones[service.strip()] = ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise VigilError(f"--timezone {pair!r}: unknown time zone {name!r}") from None
    return zones


def _triage(
    store: Store,
    actor: Actor,
    geoip: Path | None,
    shared: Path | None,
    window: int,
    fanout: int,
) -> tuple[TriageResult, dict[int, int]]:
    from datetime import timedelta

    from vigil.match.matcher import Matcher
    from vigil.sources.triage import casebook
    from vigil.sources.triage.assess import prioritise
    from vigil.sources.triage.ipinfo import load_ranges, shared_ranges
    from vigil.sources.triage.linking import LinkConfig
    from vigil.sources.triage.pipeline import matcher_lookup, run_triage

    reports, previous = casebook.load_reports(store)
    if not reports:
        raise VigilError("no reports yet: run `vigil triage import` first")
    geo = load_ranges(geoip) if geoip else None
    shared_table = shared_ranges(shared)
    _skipped((geo.problems if geo else []) + shared_table.problems, "skipped range")
    config = LinkConfig(timedelta(minutes=window), fanout)
    result = run_triage(reports, matcher_lookup(Matcher(store)), geo=geo, shared=shared_table, config=config)
    open_before = casebook.open_cases_before(result.linked.cases, previous, store)
    result.queue = prioritise(result.assessments, result.linked, open_before)
    return result, casebook.save_run(store, actor, reports, previous, result)


WindowOption = Annotated[int, typer.Option(help="Link two reports on one IP within this many minutes")]
FanoutOption = Annotated[int, typer.Option(help="A hash on more reports than this does not link them")]


@triage_app.command("run")
def run(
    geoip: GeoOption = None,
    shared: SharedOption = None,
    window: WindowOption = 60,
    fanout: FanoutOption = 25,
    top: Annotated[int, typer.Option(help="Cases to show")] = 20,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the whole queue as CSV")] = None,
    cases_dir: Annotated[
        Path | None, typer.Option(help="Write an HTML summary of the top cases here")
    ] = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Match attached files, score completeness, link cases, and print the priority queue."""
    from vigil.sources.triage.export import case_html, write_queue_csv

    result, ids = _triage(open_store(db), operator(actor), geoip, shared, window, fanout)
    table = Table("rank", "case", "priority", "reports", "why")
    for rank, p in enumerate(result.queue[:top], start=1):
        why = ", ".join(f"{k} {v:.0f}" for k, v in p.parts.items() if v) + (
            f" [{', '.join(p.reasons)}]" if p.reasons else ""
        )
        table.add_row(str(rank), str(ids[p.case]), f"{p.score:.1f}", str(len(p.reports)), why)
    console.print(table)
    console.print(
        f"{len(result.assessments)} reports, {len(result.linked.duplicate_of)} duplicates merged, "
        f"{len(result.queue)} cases, {len(result.linked.widespread_hashes)} widely circulating hashes "
        "not used for linking"
    )
    if csv_out:
        write_queue_csv(csv_out, result, ids)
    if cases_dir:
        cases_dir.mkdir(parents=True, exist_ok=True)
        for p in result.queue[:top]:
            (cases_dir / f"case-{ids[p.case]}.html").write_text(case_html(result, p, ids[p.case]))


@triage_app.command("case")
def case(
    case_id: int,
    out: Annotated[Path, typer.Option(help="HTML file to write (print it to PDF from a browser)")],
    geoip: GeoOption = None,
    shared: SharedOption = None,
    window: WindowOption = 60,
    fanout: FanoutOption = 25,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Write one case's summary: reports, entities, missing items, list matches and why they are linked."""
    from vigil.sources.triage.export import case_html

    result, ids = _triage(open_store(db), operator(actor), geoip, shared, window, fanout)
    index = next((i for i, cid in ids.items() if cid == case_id), None)
    if index is None:
        raise NotFound(f"no case {case_id}")
    out.write_text(case_html(result, next(p for p in result.queue if p.case == index), case_id))
    console.print(f"case {case_id} written to {out}")


@triage_app.command("feedback")
def feedback_sheet(
    out: Annotated[Path | None, typer.Option(help="Write the sheet as CSV here")] = None,
    period: Annotated[str, typer.Option(help="month, quarter or year")] = "quarter",
    by: Annotated[
        str, typer.Option(help="Date reports by when they were 'received' or by 'incident' time")
    ] = ("received"),
    service: Annotated[str | None, typer.Option(help="Only this reporting service's rows")] = None,
    geoip: GeoOption = None,
    shared: SharedOption = None,
    db: DbOption = None,
) -> None:
    """Per service and period: share of actionable reports and missing fields (counts only, no case data)."""
    from vigil.sources.triage import casebook
    from vigil.sources.triage.feedback import feedback, write_sheet
    from vigil.sources.triage.ipinfo import load_ranges, shared_ranges
    from vigil.sources.triage.pipeline import run_triage

    reports, _ = casebook.load_reports(open_store(db))
    if not reports:
        raise VigilError("no reports yet: run `vigil triage import` first")
    geo = load_ranges(geoip) if geoip else None
    result = run_triage(reports, lambda fs: [], geo=geo, shared=shared_ranges(shared), match_files=False)
    rows = [r for r in feedback(result.assessments, period, by) if service is None or r.service == service]
    table = Table("service", "period", "reports", "actionable", "share", "age in doubt", "missing most")
    for row in rows:
        table.add_row(
            row.service,
            row.period,
            str(row.reports),
            str(row.actionable),
            f"{row.share_actionable:.0%}",
            str(row.age_in_doubt),
            ", ".join(f"{name} {count}" for name, count in row.missing.most_common(3)),
        )
    console.print(table)
    if out:
        write_sheet(out, rows)
        console.print(f"{len(rows)} rows written to {out}")


@triage_app.command("close")
def close(
    case_id: int,
    reason: Annotated[str, typer.Option(help="Why it is closed")],
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Close a case with the reason (audited)."""
    from vigil.sources.triage import casebook

    casebook.close_case(open_store(db), operator(actor), case_id, reason)
    console.print(f"case {case_id} closed")
