"""`vigil blocklist ...`, `vigil stop-page`, `vigil search-warning ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.actions.blocking.stop_page import TEXTS
from vigil.core.errors import InvalidInput
from vigil.interfaces.cli.common import ActorOption, App, DbOption, console, open_store, operator

blocklist_app = App(help="Reviewed blocklist: add, review, export as RPZ or lists.")
search_app = App(help="Search-query warnings against a reviewed term list.")


@blocklist_app.command("add")
def add(
    value: Annotated[str, typer.Argument(help="Domain or URL")],
    source: Annotated[str | None, typer.Option(help="Where the entry comes from")] = None,
    level: Annotated[str, typer.Option(help="block or warn")] = "block",
    force: Annotated[bool, typer.Option("--force", help="Allow a shared host or CDN")] = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Propose an entry; it is exported only after review."""
    from vigil.actions.blocking import blocklist

    entry = blocklist.add(open_store(db), operator(actor), value, source=source, level=level, force=force)
    console.print(f"entry {entry.id}: {entry.kind.value} {entry.value} ({entry.status.value})")


@blocklist_app.command("review")
def review(
    entry_id: int,
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve")] = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Approve (or reject) a proposed entry; the reviewer is the acting operator."""
    from vigil.actions.blocking import blocklist

    blocklist.review(open_store(db), operator(actor), entry_id, approve=not reject)
    console.print(f"entry {entry_id} {'rejected' if reject else 'approved'}")


@blocklist_app.command("list")
def list_entries(db: DbOption = None) -> None:
    """Every entry with its state and who reviewed it."""
    from vigil.actions.blocking import blocklist

    table = Table("id", "kind", "value", "level", "status", "source", "added", "reviewer")
    for e in blocklist.entries(open_store(db)):
        table.add_row(
            str(e.id),
            e.kind.value,
            e.value,
            e.level.value,
            e.status.value,
            e.source or "",
            e.added_at.date().isoformat(),
            e.reviewer or "",
        )
    console.print(table)


@blocklist_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="Output file")],
    fmt: Annotated[str, typer.Option("--format", help="rpz, domains or urls")] = "rpz",
    zone: Annotated[str, typer.Option(help="RPZ zone name")] = "rpz.vigil.local",
    action: Annotated[str, typer.Option(help="RPZ action: nxdomain or cname")] = "nxdomain",
    stop_host: Annotated[str | None, typer.Option(help="Stop-page host for the cname action")] = None,
    ttl: Annotated[int, typer.Option(help="Record TTL")] = 300,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Write approved entries; the RPZ SOA serial moves only when the content changes."""
    from vigil.actions.blocking import blocklist

    options = blocklist.RpzOptions(zone, action, stop_host, ttl)
    count = blocklist.export(open_store(db), operator(actor), fmt, out, options)
    console.print(f"wrote {count} entries to {out}")


def stop_page(
    host: Annotated[str, typer.Option(help="Bind address")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port")] = 8080,
    language: Annotated[str, typer.Option(help=f"Default language: {', '.join(TEXTS)}")] = "en",
    helpline_url: Annotated[str | None, typer.Option(help="Override the helpline link")] = None,
    helpline_name: Annotated[str | None, typer.Option(help="Override the helpline name")] = None,
) -> None:
    """Serve the stop page for blocked names. It writes no log of any kind about visitors."""
    from vigil.actions.blocking.stop_page import StopPageConfig, serve

    if language not in TEXTS:
        raise InvalidInput(f"language must be one of {', '.join(TEXTS)}")
    server = serve(host, port, StopPageConfig(language, helpline_url, helpline_name))
    console.print(f"stop page on {host}:{server.server_address[1]} ({language}); no visitor logging")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


@search_app.command("check")
def check(
    query: str,
    terms: Annotated[Path, typer.Option(help="Reviewed term list (id<TAB>term[<TAB>level])")],
    language: Annotated[str, typer.Option(help="en or no")] = "en",
) -> None:
    """Whether a query should get a warning: term ids (never the terms), message and helpline."""
    from vigil.actions.blocking import search

    result = search.check(query, search.TermList.load(terms), language)
    console.print_json(json.dumps(result.__dict__))


@search_app.command("evaluate")
def evaluate(
    terms: Annotated[Path, typer.Option(help="Reviewed term list")],
    benign: Annotated[Path, typer.Option(help="Benign queries, one per line")],
) -> None:
    """False-positive rate of the term list on a benign query set, with the flagged queries."""
    from vigil.actions.blocking import search

    queries = benign.read_text(encoding="utf-8").splitlines()
    rate, flagged = search.false_positive_rate(queries, search.TermList.load(terms))
    console.print(
        f"{len(flagged)} of {sum(1 for q in queries if q.strip())} benign queries flagged: {rate:.4f}"
    )
    for query in flagged[:50]:
        console.print(f"  {query}")
