"""`vigil lists ...`: import, export, stats, and building a list from image files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.core.errors import ItemError
from vigil.interfaces.cli.common import DbOption, console, err, open_store
from vigil.lists import store as lists
from vigil.lists.formats import FORMATS, ListRow
from vigil.lists.formats.base import detect
from vigil.lists.formats.plain import PlainFormat
from vigil.lists.formats.vpdqfmt import video_row
from vigil.media.walk import ItemRef, walk
from vigil.sources.scan.runner import hash_ref

lists_app = typer.Typer(help="Manage hash lists.", no_args_is_help=True)


def _report_import(result: lists.ImportResult, show: int = 20) -> None:
    console.print(
        f"list [bold]{result.list_name}[/]: {result.rows} rows read, {result.new_entries} new entries, "
        f"{len(result.errors)} rejected"
    )
    for error in result.errors[:show]:
        err.print(f"[yellow]rejected[/] {error}")
    if len(result.errors) > show:
        err.print(f"[yellow]... {len(result.errors) - show} more rejected rows[/]")


@lists_app.command("import")
def import_list(
    path: Annotated[Path, typer.Argument(help="List file")],
    name: Annotated[str, typer.Option(help="List name (created if new)")],
    fmt: Annotated[
        str, typer.Option("--format", help=f"auto or one of: {', '.join(FORMATS.names())}")
    ] = "auto",
    purpose: Annotated[
        str, typer.Option(help="known (report matches) or ignore (known-benign filter)")
    ] = "known",
    category: Annotated[str | None, typer.Option(help="Category for rows that have none")] = None,
    source: Annotated[str | None, typer.Option(help="Who supplied the list")] = None,
    hash_type: Annotated[str | None, typer.Option(help="Hash type for plain one-per-line files")] = None,
    db: DbOption = None,
) -> None:
    """Import a CSV, VICS JSON, plain or NSRL RDSv3 list; bad rows are reported and skipped."""
    if not path.exists():
        err.print(f"[red]error:[/] no file or folder {path}")
        raise typer.Exit(2)
    reader = FORMATS.get(fmt) if fmt != "auto" else detect(path)
    if reader.name == "plain" and hash_type:
        reader = PlainFormat(hash_type)
    if reader.name == "nsrl" and purpose == "known":
        purpose = "ignore"
    try:
        result = lists.import_rows(
            open_store(db), name, reader.read(path), purpose=purpose, source=source, category=category
        )
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    _report_import(result)


@lists_app.command("export")
def export_list(
    name: Annotated[str, typer.Argument(help="List name")],
    out: Annotated[Path, typer.Option(help="Output file")],
    fmt: Annotated[str, typer.Option("--format", help="csv, vics or plain")] = "csv",
    db: DbOption = None,
) -> None:
    """Export a list with its categories and origins."""
    writer = FORMATS.get(fmt)
    try:
        count = writer.write(lists.export_rows(open_store(db), name), out)
    except KeyError as exc:
        err.print(f"[red]error:[/] {exc.args[0]}")
        raise typer.Exit(2) from None
    console.print(f"wrote {count} entries to {out}")


@lists_app.command("stats")
def list_stats(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Entries per list and hash type, and how many are shared with other lists."""
    rows = lists.stats(open_store(db))
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("list", "purpose", "entries", "by type", "shared", "source")
    for row in rows:
        by_type = ", ".join(f"{k}:{v}" for k, v in row["by_type"].items())
        table.add_row(
            row["name"],
            row["purpose"],
            str(row["entries"]),
            by_type,
            str(row["shared_with_other_lists"]),
            row["source"] or "",
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
    db: DbOption = None,
) -> None:
    """Hash files (reference PDQ, exact mode; vPDQ for videos) and add their hashes to a list."""
    refs = [r for r in walk(folder) if isinstance(r, ItemRef) and not r.members]
    if limit:
        refs = refs[:limit]
    rows: list[ListRow | ItemError] = []
    for ref in refs:
        signals = hash_ref(ref, "exact", seconds_per_hash)
        if not signals.md5:
            rows.append(ItemError(ref.label, signals.error or "unreadable"))
            continue
        for kind, value in signals.hashes().items():
            rows.append(ListRow(kind, value, category, ref.label))
        if signals.video is not None and signals.video.frames:
            rows.append(video_row(signals.video.frames, ref.label, category, signals.video.regions))
        if signals.error:
            rows.append(ItemError(ref.label, signals.error))
    result = lists.import_rows(open_store(db), name, rows, purpose=purpose, source=f"files under {folder}")
    _report_import(result)
