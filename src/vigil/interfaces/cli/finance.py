"""`vigil finance ...`: ledger indicators, per-customer scores and STR drafts for an analyst."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.core import defaults
from vigil.core.errors import VigilError
from vigil.interfaces.cli.common import App, console, err

finance_app = App(help="Payment indicators for live-streamed abuse (prioritisation only).")


@finance_app.command("scan")
def scan(
    ledger: Annotated[
        Path, typer.Argument(help="CSV: sender,beneficiary,corridor,amount,currency,time,channel,reference")
    ],
    corridor: Annotated[
        list[str] | None,
        typer.Option(help="High-risk corridor code (repeatable; default: every corridor the sources name)"),
    ] = None,
    home: Annotated[
        str | None, typer.Option(help="The ledger's own country: never a corridor (e.g. US for a US bank)")
    ] = None,
    transfer_channel: Annotated[
        list[str] | None,
        typer.Option(help="Channel that sends money to a person (repeatable; default remittance, p2p_app)"),
    ] = None,
    rates: Annotated[
        Path | None, typer.Option(help="CSV currency,rate: what one unit is worth in the base currency")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="The ledger's time zone (IANA name): offset-less times are local there")
    ] = None,
    low_value: Annotated[float, typer.Option(help="Low-value ceiling in base currency")] = 150.0,
    threshold: Annotated[
        float, typer.Option(help="Score that puts a customer in front of an analyst")
    ] = defaults.FINANCE_THRESHOLD,
    drafts: Annotated[Path | None, typer.Option(help="Write an STR draft per flagged customer here")] = None,
    top: Annotated[int, typer.Option(help="Customers to show")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score every sender; each indicator hit names its published source."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from vigil.intel.finance.assess import assess, str_draft
    from vigil.intel.finance.ledger import read_ledger, read_rates
    from vigil.intel.finance.rules import FinanceConfig, corridors

    try:
        zone = ZoneInfo(timezone) if timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        raise VigilError(f"--timezone: unknown time zone {timezone!r}") from None
    try:
        data = read_ledger(ledger, zone)
        factors = read_rates(rates) if rates else {}
    except OSError as exc:
        raise VigilError(f"cannot read {exc.filename}: {exc.strerror}") from None
    for p in data.problems[:20]:
        err.print(f"[yellow]skipped[/] {p}")
    chosen = frozenset(c.upper() for c in corridor) if corridor else corridors(home)
    unknown = {t.currency.upper() for t in data.transactions} - set(factors) if rates else set()
    if unknown:
        raise VigilError(f"{rates}: no rate for {', '.join(sorted(unknown))}")
    defaults_config = FinanceConfig()
    config = FinanceConfig(
        chosen - ({home.upper()} if home else set()),
        low_value=low_value,
        rates=factors,
        transfer_channels=(
            frozenset(c.lower() for c in transfer_channel)
            if transfer_channel
            else defaults_config.transfer_channels
        ),
    )
    results = assess(data.transactions, config)
    flagged = [a for a in results if a.flagged(threshold)]
    if drafts:
        drafts.mkdir(parents=True, exist_ok=True)
        by_id = {t.id: t for t in data.transactions}
        for a in flagged:
            (drafts / f"str-draft-{a.customer}.txt").write_text(str_draft(a, by_id))
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {"customer": a.customer, "score": a.score, "hits": [h.__dict__ for h in a.hits]}
                    for a in results[:top]
                ]
            )
        )
        return
    table = Table("customer", "score", "indicators (source)")
    for a in results[:top]:
        table.add_row(
            a.customer, f"{a.score:.2f}", "\n".join(f"{h.rule}: {h.detail} [{h.source}]" for h in a.hits)
        )
    console.print(table)
    console.print(
        f"{len(data.transactions)} transactions, {len(results)} customers, {len(flagged)} at or above "
        f"{threshold}, {len(data.problems)} rows skipped" + (f"; drafts in {drafts}" if drafts else "")
    )


@finance_app.command("rules")
def rules() -> None:
    """The indicator rules, their weights and sources."""
    from vigil.intel.finance.rules import FINANCE_RULES

    table = Table("rule", "weight", "source")
    for name, rule in FINANCE_RULES:
        table.add_row(name, f"{rule.weight:.2f}", rule.source)
    console.print(table)
