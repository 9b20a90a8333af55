"""`vigil serve`, `vigil keys ...`, `vigil audit ...`, `vigil review ...`, `vigil models ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.core import defaults
from vigil.core.actor import KEY_ROLES
from vigil.core.errors import VigilError
from vigil.interfaces.cli.common import (
    ActorOption,
    App,
    DbOption,
    console,
    err,
    open_store,
    operator,
    read_contexts,
)

keys_app = App(help="API keys and roles.")
audit_app = App(help="Audit log checks and transparency export.")
review_app = App(help="Review queue administration.")
models_app = App(help="Classifier models: measured precision and demotion.")


@models_app.command("report")
def models_report(
    floor: Annotated[float, typer.Option(help="Demote a model whose precision falls below this")] = 0.2,
    threshold: Annotated[float, typer.Option(help="Score at which a model flags an item")] = 0.5,
    min_decisions: Annotated[int, typer.Option(help="Decisions needed before demoting")] = 20,
    enforce: Annotated[
        bool, typer.Option("--enforce", help="Demote models below the floor (audited)")
    ] = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Per-model precision by score band and false-positive rate, from reviewers' decisions."""
    from vigil.intel.classify import monitor

    store = open_store(db)
    policy = monitor.MonitorPolicy(threshold, floor, min_decisions)
    if enforce:
        for model_id in monitor.enforce(store, operator(actor), policy):
            err.print(f"[yellow]demoted[/] {model_id}")
    console.print_json(json.dumps(monitor.report(store, policy)))


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who the key is for")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(r.value for r in KEY_ROLES)}")],
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    from vigil.review import keys

    console.print(keys.create_key(open_store(db), operator(actor), name, role))


@keys_app.command("list")
def list_keys(db: DbOption = None) -> None:
    """Every key with its role and whether it was revoked (never the key itself)."""
    from vigil.review import keys

    table = Table("name", "role", "created", "revoked")
    for row in keys.list_keys(open_store(db)):
        table.add_row(str(row["name"]), str(row["role"]), str(row["created_at"]), str(row["revoked"]))
    console.print(table)


@keys_app.command("revoke")
def revoke_key(name: str, db: DbOption = None, actor: ActorOption = None) -> None:
    """Revoke a key at once; its holder can no longer log in or call the API."""
    from vigil.review import keys

    keys.revoke(open_store(db), operator(actor), name)
    console.print(f"revoked {name}")


@keys_app.command("rotate")
def rotate_key(name: str, db: DbOption = None, actor: ActorOption = None) -> None:
    """Give a key a new secret (printed once); its holder keeps their identity, the old secret dies."""
    from vigil.review import keys

    console.print(keys.rotate(open_store(db), operator(actor), name))


@audit_app.command("checkpoint")
def checkpoint(db: DbOption = None) -> None:
    """Write the chain head to $VIGIL_AUDIT_ANCHOR (run it from cron where no service runs)."""
    from vigil.store import audit
    from vigil.store.anchor import ANCHOR_ENV

    point = audit.checkpoint(open_store(db))
    if point is None:
        raise VigilError(f"nothing to anchor: set {ANCHOR_ENV} (and have at least one event)")
    console.print(f"checkpoint: seq {point.seq}, {'MACed' if point.mac else 'no audit key, not MACed'}")


@audit_app.command("verify")
def verify(db: DbOption = None) -> None:
    """Recompute the hash chain, check MACs and checkpoints; exit 1 naming the first bad event."""
    from vigil.store import audit

    result = audit.verify(open_store(db))
    if result.ok:
        console.print(f"audit log intact: {result.events} events")
        return
    err.print(f"[red]audit log broken at event {result.first_bad_seq}:[/] {result.problem}")
    raise typer.Exit(1)


@audit_app.command("transparency")
def transparency_export(
    out: Annotated[Path, typer.Option(help="JSON file to write")] = Path("transparency.json"),
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Counts by source, list, category and outcome, and false-positive rates from review decisions."""
    from vigil.review import transparency
    from vigil.store import audit

    store = open_store(db)
    data = transparency.build(store)
    out.write_text(json.dumps(data, indent=2), encoding="utf-8")
    audit.log(store, operator(actor), "transparency.export", str(out))
    console.print_json(json.dumps(data))


@review_app.command("enqueue")
def enqueue(
    scan_id: int,
    votes: Annotated[int, typer.Option(help="Agreeing reviewers needed")] = defaults.REQUIRED_VOTES,
    context: Annotated[
        Path | None, typer.Option(help="JSON: item path -> uploader/account/ip_events")
    ] = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Put a scan's matches into the review queue (done automatically after `vigil scan`)."""
    from vigil.review import domain as review

    added = review.enqueue_scan(open_store(db), operator(actor), scan_id, votes, read_contexts(context))
    console.print(f"{added} items queued for review")


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    evidence_dir: Annotated[Path, typer.Option(help="Encrypted evidence folder")] = Path("vigil-evidence"),
    key_file: Annotated[Path | None, typer.Option(help="Evidence key file (or $VIGIL_EVIDENCE_KEY)")] = None,
    votes: Annotated[
        int, typer.Option(help="Agreeing reviewers needed per decision")
    ] = defaults.REQUIRED_VOTES,
    reporter_email: Annotated[str, typer.Option(help="Reporter e-mail in clearinghouse reports")] = "",
    clearinghouse_url: Annotated[str | None, typer.Option(help="CyberTipline-style API base URL")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (they share a memory-mapped index)")] = 1,
    index_dir: Annotated[
        Path | None, typer.Option(help="Index snapshot folder (default with --workers > 1)")
    ] = None,
    hma_anonymous_role: Annotated[
        str | None, typer.Option(help="Role for keyless HMA-API clients (trusted networks only)")
    ] = None,
    hma_allowed_host: Annotated[
        list[str] | None,
        typer.Option(help="Host HMA URL hashing may fetch from (repeatable; * for any public host)"),
    ] = None,
    hma_compatible: Annotated[
        bool,
        typer.Option(
            help="HMA's defaults: keyless HMA callers act as admin and URLs hash from any public host "
            "(trusted networks only; the two options above override)"
        ),
    ] = False,
    scan_root: Annotated[
        list[Path] | None, typer.Option(help="Folder API scans may read (repeatable; default: any)")
    ] = None,
    media_workers: Annotated[int, typer.Option(help="Processes hashing uploaded media")] = 2,
    rate: Annotated[float, typer.Option(help="Requests per second per key on average (0: none)")] = 100.0,
    public_docs: Annotated[bool, typer.Option(help="Serve /docs and /openapi.json without a key")] = False,
    spool_dir: Annotated[Path, typer.Option(help="Where uploaded list files wait for `vigil worker`")] = Path(
        "vigil-spool"
    ),
) -> None:
    """Run the HTTP service: JSON API (OpenAPI at /openapi.json for key holders) and the review UI at
    /ui. API scans, list imports, exchange fetches and crawls are queued; run `vigil worker` beside
    it to carry them out."""
    import os

    from vigil.interfaces.api import serving
    from vigil.store.db import resolve_url

    if workers > 1 and index_dir is None:
        index_dir = Path("vigil-index")
    settings = {
        "VIGIL_DB": resolve_url(db),
        "VIGIL_EVIDENCE_DIR": str(evidence_dir),
        "VIGIL_EVIDENCE_KEY_FILE": str(key_file or ""),
        "VIGIL_VOTES": str(votes),
        "VIGIL_REPORTER_EMAIL": reporter_email,
        "VIGIL_CLEARINGHOUSE_URL": clearinghouse_url or "",
        "VIGIL_INDEX_DIR": str(index_dir or ""),
        "VIGIL_HMA_ANONYMOUS_ROLE": hma_anonymous_role or "",
        "VIGIL_HMA_ALLOWED_HOSTS": ",".join(hma_allowed_host or []),
        "VIGIL_HMA_COMPATIBLE": "1" if hma_compatible else "",
        "VIGIL_SCAN_ROOTS": os.pathsep.join(str(p) for p in scan_root or []),
        "VIGIL_MEDIA_WORKERS": str(media_workers),
        "VIGIL_RATE": str(rate),
        "VIGIL_PUBLIC_DOCS": "1" if public_docs else "",
        "VIGIL_SPOOL_DIR": str(spool_dir),
    }
    os.environ.update({k: v for k, v in settings.items() if v})
    if index_dir is not None:
        from vigil.match import snapshot

        snapshot.write(open_store(db), index_dir)  # build once; the workers map it
    serving.run("vigil.interfaces.api.app:from_env", host=host, port=port, workers=workers)
