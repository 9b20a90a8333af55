"""`vigil exchanges add|fetch|status|share`: hash-sharing exchanges through python-threatexchange."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from vigil.actions.exchanges import sync
from vigil.actions.exchanges.apis import EXCHANGE_APIS
from vigil.core.errors import VigilError
from vigil.interfaces.cli.common import DbOption, console, err, fail, open_store

exchanges_app = typer.Typer(
    help="Hash-sharing exchanges (NCMEC, StopNCII, ThreatExchange, files).", no_args_is_help=True
)


@exchanges_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name of this exchange in Vigil")],
    api: Annotated[str, typer.Option(help=f"One of: {', '.join(EXCHANGE_APIS.names())}")],
    config: Annotated[
        str, typer.Option(help='API settings as JSON, e.g. {"filename": "/srv/partner.txt"}')
    ] = "{}",
    list_name: Annotated[
        str | None, typer.Option("--list", help="List to fill (default: the exchange name)")
    ] = None,
    category: Annotated[str | None, typer.Option(help="Category recorded for fetched entries")] = None,
    share: Annotated[
        bool, typer.Option("--share", help="Opt in to sharing our confirmed signals back")
    ] = False,
    actor: Annotated[str, typer.Option(help="Who configures it (audited)")] = "cli",
    db: DbOption = None,
) -> None:
    try:
        settings = json.loads(config)
        row = sync.add_exchange(
            open_store(db),
            name,
            api,
            settings,
            list_name=list_name,
            category=category,
            share=share,
            actor=actor,
        )
    except (VigilError, KeyError, ValueError) as exc:
        raise fail(exc) from None
    console.print(f"exchange {row.name} ({row.api}) added; sharing {'on' if row.share else 'off'}")


@exchanges_app.command("fetch")
def fetch(name: Annotated[str, typer.Argument(help="Exchange to fetch")], db: DbOption = None) -> None:
    """Fetch from the last checkpoint into the exchange's list; bad items are listed and skipped."""
    try:
        result = sync.fetch(open_store(db), name)
    except VigilError as exc:
        raise fail(exc) from None
    for problem in result.rejected[:50]:
        err.print(f"[yellow]rejected[/] {problem}")
    console.print(
        f"{name}: {result.added} signals applied, {result.removed} withdrawn, "
        f"{len(result.rejected)} rejected, {result.deltas} update batch(es)"
    )


@exchanges_app.command("status")
def status(db: DbOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    rows = sync.status(open_store(db))
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("name", "api", "list", "last fetch", "ok", "fetched", "rejected", "sharing", "shared")
    for r in rows:
        table.add_row(
            r["name"],
            r["api"],
            r["list"],
            str(r["last_fetch_time"] or "never"),
            "yes" if r["success"] else (r["error"] or "no"),
            str(r["fetched"]),
            str(r["rejected"]),
            "on" if r["share"] else "off",
            str(r["shared"]),
        )
    console.print(table)


@exchanges_app.command("share")
def share(
    name: Annotated[str, typer.Argument(help="Exchange to share to (must have opted in)")],
    actor: Annotated[str, typer.Option(help="Who shares (audited)")],
    db: DbOption = None,
) -> None:
    """Send the signals of human-confirmed items, each once, with the reviewers' agreement audited."""
    try:
        sent = sync.share(open_store(db), name, actor)
    except VigilError as exc:
        raise fail(exc) from None
    console.print(f"{sent} signals shared to {name}")
