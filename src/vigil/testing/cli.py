"""`python -m vigil.testing`: synthetic data with planted ground truth, for trials and benchmarks.

Kept out of the operator's `vigil` command: nothing here touches a store or real data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Synthetic trial data (never real material).", no_args_is_help=True)
console = Console()


@app.command("triage-reports")
def triage_reports(
    out: Annotated[Path, typer.Argument(help="JSON lines file of bundles to write")],
    reports: Annotated[int, typer.Option(help="Planted reports")] = 10_000,
    seed: int = 0,
) -> None:
    """Synthetic reports with planted cases (and geo/shared CSVs beside them) for `vigil triage`."""
    from vigil.testing.synth.triage import generate_reports

    data = generate_reports(reports, seed)
    out.write_text("".join(json.dumps(b) + "\n" for b in data.bundles))
    out.with_suffix(".geo.csv").write_text(data.geo_csv)
    out.with_suffix(".shared.csv").write_text(data.shared_csv)
    console.print(f"{len(data.bundles)} bundles in {out}, {len(set(data.truth))} planted cases")


@app.command("p2p-log")
def p2p_log(
    out: Annotated[Path, typer.Argument(help="Observation CSV to write")],
    rows: Annotated[int, typer.Option(help="Sightings")] = 1_000_000,
    seed: int = 0,
) -> None:
    """Synthetic observation log with planted top distributors (known files are written as a list)."""
    from vigil.testing.synth.p2p import write_observations

    data = write_observations(out, rows, seed=seed)
    listing = out.with_suffix(".known.csv")
    listing.write_text(
        "hash_type,hash\n"
        + "".join(f"btih,{h}\n" for h in data.known_btih)
        + "".join(f"sha1,{h}\n" for h in data.known_sha1)
    )
    console.print(
        f"{data.rows} sightings in {out}; known list in {listing}; planted: {', '.join(data.planted[:3])}..."
    )


@app.command("ledger")
def ledger(
    out: Annotated[Path, typer.Argument(help="CSV to write")],
    rows: Annotated[int, typer.Option(help="About this many transactions")] = 10_000,
    planted: Annotated[int, typer.Option(help="Planted customers")] = 12,
    seed: int = 0,
) -> None:
    """A synthetic ledger (ordinary customers, family remitters, planted rings) for `vigil finance`."""
    from vigil.intel.finance.ledger import write_ledger
    from vigil.testing.synth.finance import generate

    data = generate(rows, planted, seed=seed)
    write_ledger(out, data.transactions)
    console.print(f"{len(data.transactions)} transactions; planted: {', '.join(sorted(data.planted))}")
