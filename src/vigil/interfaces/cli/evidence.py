"""`vigil evidence ...`: what is preserved, its custody trail, and legal holds (place, release).

Listing and showing are audited under the operator; holds are placed and released with a reason
that goes into the custody trail. The file itself is never printed.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.interfaces.cli.common import ActorOption, App, DbOption, console, open_store, operator

evidence_app = App(help="Preserved evidence: list, show (with its custody trail), hold, release.")
VaultDir = Annotated[Path, typer.Option(help="Evidence vault folder")]
KeyFile = Annotated[Path | None, typer.Option(help="Evidence key file (or $VIGIL_EVIDENCE_KEY)")]


@evidence_app.command("list")
def list_evidence(db: DbOption = None, actor: ActorOption = None) -> None:
    """Every piece of evidence, its legal hold, and whether its custody trail verifies."""
    from vigil.review import custody

    table = Table("id", "item", "sha256", "size", "hold", "retain until", "custody")
    for row in custody.listing(open_store(db), operator(actor)):
        table.add_row(
            str(row.id),
            str(row.review_item_id),
            row.sha256[:16],
            str(row.size),
            "held" if row.legal_hold else "released",
            row.retain_until.date().isoformat(),
            "verifies" if row.problem is None else f"[red]{row.problem}[/]",
        )
    console.print(table)


@evidence_app.command("show")
def show(
    evidence_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """One piece of evidence: metadata, frozen context and its custody trail."""
    from vigil.review import custody

    found = custody.dossier(open_store(db), operator(actor), evidence_id)
    if as_json:
        console.print_json(json.dumps(asdict(found), default=str))
        return
    e = found.evidence
    verdict = "verifies" if e.problem is None else f"[red]does not verify: {e.problem}[/]"
    console.print(f"evidence {e.id} of item {e.review_item_id}: sha256 {e.sha256}, {e.size} bytes")
    console.print(f"legal hold: {'yes' if e.legal_hold else 'released'}; custody trail {verdict}")
    for number, step in enumerate(found.custody, start=1):
        console.print(f"{number}. {step.at.isoformat()} {step.action} by {step.actor} {step.detail or ''}")


def _change_hold(
    change: str,
    evidence_id: int,
    reason: str,
    folder: Path,
    key: Path | None,
    db: str | None,
    actor: str | None,
) -> None:
    from vigil.review import custody
    from vigil.review.evidence import Vault

    act = custody.release if change == "release" else custody.hold
    act(open_store(db), Vault.open(folder, key), operator(actor), evidence_id, reason)
    console.print(f"evidence {evidence_id}: {'hold released' if change == 'release' else 'held'}")


@evidence_app.command("release")
def release(
    evidence_id: int,
    reason: Annotated[str, typer.Option(help="Why the hold ends (recorded in the custody trail)")],
    evidence_dir: VaultDir = Path("vigil-evidence"),
    key_file: KeyFile = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Release a legal hold, with the reason."""
    _change_hold("release", evidence_id, reason, evidence_dir, key_file, db, actor)


@evidence_app.command("hold")
def hold(
    evidence_id: int,
    reason: Annotated[str, typer.Option(help="Why it is held (recorded in the custody trail)")],
    evidence_dir: VaultDir = Path("vigil-evidence"),
    key_file: KeyFile = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Place a legal hold again, with the reason."""
    _change_hold("hold", evidence_id, reason, evidence_dir, key_file, db, actor)
