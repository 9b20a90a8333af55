"""`vigil lists ...`: import, export, stats, and building a list from image files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vigil.interfaces.cli.common import ActorOption, App, DbOption, console, err, open_store, operator

if TYPE_CHECKING:
    from vigil.lists.domain import ImportResult

lists_app = App(help="Manage hash lists.")
FORMAT_NAMES = "csv, vics, plain, nsrl, vpdq"


def _report_import(result: ImportResult, show: int = 20) -> None:
    """Print the counts and the first rejected rows; nothing imported at all exits with status 1."""
    console.print(
        f"list [bold]{result.list_name}[/]: {result.rows} rows read, {result.new_entries} new entries, "
        f"{len(result.errors)} rejected"
    )
    for error in result.errors[:show]:
        err.print(f"[yellow]rejected[/] {error}")
    if len(result.errors) > show:
        err.print(f"[yellow]... {len(result.errors) - show} more rejected rows[/]")
    if result.rows == 0:
        err.print("[red]error:[/] nothing was imported")
        raise typer.Exit(1)


@lists_app.command("import")
def import_list(
    path: Annotated[Path, typer.Argument(help="List file")],
    name: Annotated[str, typer.Option(help="List name (created if new)")],
    fmt: Annotated[str, typer.Option("--format", help=f"auto or one of: {FORMAT_NAMES}")] = "auto",
    purpose: Annotated[
        str, typer.Option(help="known (report matches) or ignore (known-benign filter)")
    ] = "known",
    category: Annotated[str | None, typer.Option(help="Category for rows that have none")] = None,
    source: Annotated[str | None, typer.Option(help="Who supplied the list")] = None,
    hash_type: Annotated[str | None, typer.Option(help="Hash type for plain one-per-line files")] = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Import a CSV, VICS JSON, plain or NSRL RDSv3 list; bad rows are reported and skipped."""
    from vigil.core.errors import NotFound
    from vigil.lists import domain
    from vigil.lists.formats import FORMATS
    from vigil.lists.formats.base import detect
    from vigil.lists.formats.plain import PlainFormat

    if not path.exists():
        raise NotFound(f"no file or folder {path}")
    reader = FORMATS.get(fmt) if fmt != "auto" else detect(path)
    if reader.name == "plain" and hash_type:
        reader = PlainFormat(hash_type)
    if reader.name == "nsrl" and purpose == "known":
        purpose = "ignore"
    result = domain.import_rows(
        open_store(db),
        operator(actor),
        name,
        reader.read(path),
        purpose=purpose,
        source=source,
        category=category,
    )
    _report_import(result)


@lists_app.command("export")
def export_list(
    name: Annotated[str, typer.Argument(help="List name")],
    out: Annotated[Path, typer.Option(help="Output file")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {FORMAT_NAMES}")] = "csv",
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Export a list with its categories and origins (audited)."""
    from vigil.lists import domain

    count = domain.export(open_store(db), operator(actor), name, fmt, out)
    console.print(f"wrote {count} entries to {out}")


@lists_app.command("stats")
def list_stats(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Entries per list and hash type, and how many are shared with other lists."""
    from vigil.lists import domain

    rows = domain.stats(open_store(db))
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("list", "purpose", "entries", "by type", "shared", "source", "last import", "weak radius")
    for row in rows:
        by_type = ", ".join(f"{k}:{v}" for k, v in row["by_type"].items())
        last = row["last_import"]
        state = f"{last['status']} ({last['rows']:,} rows)" if last else ""
        if row["incomplete_imports"]:
            state += f"; [yellow]{row['incomplete_imports']} incomplete, not matched[/]"
        table.add_row(
            str(row["name"]),
            str(row["purpose"]),
            str(row["entries"]),
            by_type,
            str(row["shared_with_other_lists"]),
            str(row["source"] or ""),
            state,
            str(row["calibration"]["weak_radius"]) if row["calibration"] else "not calibrated",
        )
    console.print(table)


@lists_app.command("add-files")
def add_files(
    folder: Annotated[Path, typer.Argument(help="Folder of files to designate as known")],
    name: Annotated[str, typer.Option(help="List name")],
    limit: Annotated[int, typer.Option(help="Take only the first N files (sorted by path); 0 for all")] = 0,
    category: Annotated[str | None, typer.Option(help="Category to record")] = None,
    purpose: Annotated[str, typer.Option(help="known or ignore")] = "known",
    seconds_per_hash: Annotated[
        float, typer.Option(help="Videos: one frame per this many seconds (0: all)")
    ] = 0.0,
    regions: Annotated[
        bool, typer.Option(help="Also keep hashes of each image's crops, halves and quadrants")
    ] = True,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Hash files (reference PDQ, exact mode; vPDQ for videos) and add their hashes to a list.

    Region hashes (crops from each side and corner, halves, quadrants) stay with the image's PDQ
    entry so cropped copies match; exports carry the whole-picture hash only."""
    from vigil.core.errors import NotFound
    from vigil.lists import domain

    if not folder.exists():
        raise NotFound(f"no file or folder {folder}")
    result = domain.add_files(
        open_store(db),
        operator(actor),
        folder,
        name,
        limit=limit,
        category=category,
        purpose=purpose,
        seconds_per_hash=seconds_per_hash,
        regions=regions,
    )
    _report_import(result)


@lists_app.command("calibrate")
def calibrate(
    name: Annotated[str, typer.Argument(help="List to calibrate")],
    folder: Annotated[Path, typer.Argument(help="Benign images that are not on the list")],
    target: Annotated[
        float, typer.Option(help="Per-query false-match probability the weak radius may reach")
    ] = 1e-6,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Measure how close never-seen images come to a list, and derive its weak-match radius.

    Matches beyond the fixed radius (31) and within the weak radius are reported as `weak`, with
    an estimated false-match probability; they only enter review, below every strong match.
    """
    from vigil.core.errors import NotFound
    from vigil.match.calibrate import calibrate as run

    if not folder.exists():
        raise NotFound(f"no file or folder {folder}")
    result = run(open_store(db), operator(actor), name, folder, target=target)
    fit = result.fit
    console.print(
        f"{result.list_name}: {result.images} images ({result.skipped} skipped), "
        f"{result.hashes} query hashes, {result.codes} codes, {result.pairs:,} pairs; "
        f"closest {fit.closest}, quantiles " + ", ".join(f"{q} at {d}" for q, d in fit.quantiles.items()),
        soft_wrap=True,
    )
    console.print(
        f"weak radius {result.weak_radius} (strong {result.strong_radius}); calibration images matched "
        f"there: {result.found}",
        soft_wrap=True,
    )
    for distance in sorted({result.strong_radius, result.weak_radius}):
        console.print(
            f"estimated false-match probability per query at {distance}: "
            f"{result.false_match(distance):.1e} (this list), {result.false_match(distance, 10_000_000):.1e} "
            "(a list of 10M codes)",
            soft_wrap=True,
        )
