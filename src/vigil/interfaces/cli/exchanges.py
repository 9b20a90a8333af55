"""`vigil exchanges add|fetch|status|share`: hash-sharing exchanges through python-threatexchange."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from vigil.actions.exchanges.apis import EXCHANGE_APIS
from vigil.core.errors import InvalidInput
from vigil.interfaces.cli.common import ActorOption, App, DbOption, console, err, open_store, operator

exchanges_app = App(help="Hash-sharing exchanges (NCMEC, StopNCII, ThreatExchange, files).")


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
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Configure an exchange feeding a list (audited); sharing back is off unless --share."""
    from vigil.actions.exchanges import sync

    try:
        settings = json.loads(config)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--config is not JSON: {exc}") from None
    row = sync.add_exchange(
        open_store(db),
        operator(actor),
        name,
        api,
        settings,
        list_name=list_name,
        category=category,
        share=share,
    )
    console.print(f"exchange {row.name} ({row.api}) added; sharing {'on' if row.share else 'off'}")


@exchanges_app.command("fetch")
def fetch(
    name: Annotated[str, typer.Argument(help="Exchange to fetch")],
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Fetch from the last checkpoint into the exchange's list; bad items are listed and skipped."""
    from vigil.actions.exchanges import sync

    result = sync.fetch(open_store(db), operator(actor), name)
    for problem in result.rejected[:50]:
        err.print(f"[yellow]rejected[/] {problem}")
    console.print(
        f"{name}: {result.added} signals applied, {result.removed} withdrawn, "
        f"{result.routed} URLs proposed to the blocklist (pending review), "
        f"{len(result.rejected)} rejected, {result.deltas} update batch(es)"
    )


@exchanges_app.command("status")
def status(db: DbOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each exchange's last fetch, counts and sharing state."""
    from vigil.actions.exchanges import sync

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
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Send the signals of human-confirmed items, each once, with the reviewers' agreement audited."""
    from vigil.actions.exchanges import sync

    sent = sync.share(open_store(db), operator(actor), name)
    console.print(f"{sent} signals shared to {name}")
