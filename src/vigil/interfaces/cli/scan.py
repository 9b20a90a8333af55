"""`vigil scan`, `vigil hash` and `vigil report`: the main job and its companions."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vigil.core import defaults
from vigil.core.errors import InvalidInput, NotFound
from vigil.interfaces.cli.common import (
    ActorOption,
    DbOption,
    console,
    err,
    open_store,
    operator,
    read_contexts,
)

ModeOption = Annotated[str, typer.Option("--mode", help="fast (vectorised PDQ) or exact (reference pdqhash)")]


def _mode(value: str) -> Literal["fast", "exact"]:
    if value not in ("fast", "exact"):
        raise InvalidInput("mode must be fast or exact")
    return "fast" if value == "fast" else "exact"


def scan(
    path: Annotated[Path, typer.Argument(help="Folder, file or archive to scan")],
    db: DbOption = None,
    mode: ModeOption = "fast",
    radius: Annotated[int, typer.Option(help="PDQ match radius in bits")] = defaults.PDQ_RADIUS,
    min_quality: Annotated[
        int, typer.Option(help="Skip PDQ matching below this quality")
    ] = defaults.PDQ_MIN_QUALITY,
    workers: Annotated[int, typer.Option(help="Hashing processes (0: one per CPU)")] = 0,
    cluster: Annotated[str | None, typer.Option(help="Dask scheduler, e.g. tcp://10.0.0.5:8786")] = None,
    classify: Annotated[list[str] | None, typer.Option(help="Classifier plug-in to run (repeatable)")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last unfinished scan of PATH")
    ] = False,
    dihedral: Annotated[bool, typer.Option(help="Also match rotated/flipped copies")] = True,
    normalise: Annotated[
        bool,
        typer.Option(
            help="Also match the picture inside borders, bars, captions and screenshot chrome, and "
            "copies turned by up to 5 degrees (about 6 ms more per image)"
        ),
    ] = True,
    seconds_per_hash: Annotated[
        float, typer.Option(help="Video: hash one frame per this many seconds (0: all)")
    ] = 1.0,
    video_match: Annotated[
        float, typer.Option(help="Video: % of query or known frames that must match")
    ] = defaults.VIDEO_MATCH_PERCENT,
    report_dir: Annotated[Path, typer.Option(help="Where to write the JSON and HTML report")] = Path(
        "vigil-report"
    ),
    review_votes: Annotated[
        int, typer.Option(help="Queue matches for this many agreeing reviewers (0: none)")
    ] = defaults.REQUIRED_VOTES,
    context: Annotated[
        Path | None, typer.Option(help="JSON: item path -> uploader/account/ip_events")
    ] = None,
    max_pixels: Annotated[
        int, typer.Option(help="Images above this many pixels keep exact hashes only")
    ] = defaults.MAX_PIXELS,
    max_ratio: Annotated[
        float, typer.Option(help="Archive compression ratio that counts as a decompression bomb")
    ] = defaults.MAX_RATIO,
    item_timeout: Annotated[
        float, typer.Option(help="Seconds an item may go without progress before it counts as hung")
    ] = defaults.ITEM_TIMEOUT,
    item_memory: Annotated[
        int, typer.Option(help="MiB a hashing process may use before its item counts as out of memory")
    ] = defaults.ITEM_MEMORY_MIB,
    actor: ActorOption = None,
) -> None:
    """Hash every file under PATH (archives included), match against the lists, write a report."""
    from vigil.match.matcher import MatchConfig
    from vigil.media.archives import Limits
    from vigil.review import domain as review
    from vigil.sources.scan import report as scan_report
    from vigil.sources.scan.runner import ScanOptions, run_scan

    if not path.exists():
        raise NotFound(f"{path} does not exist")
    who = operator(actor)
    contexts = read_contexts(context)  # refused before scanning, with every bad field named
    store = open_store(db)
    options = ScanOptions(
        _mode(mode),
        workers,
        MatchConfig(radius, min_quality, dihedral, normalise, video_match_percent=video_match),
        seconds_per_hash,
        cluster,
        tuple(classify or ()),
        Limits(max_pixels=max_pixels, max_ratio=max_ratio),
        item_memory << 20,
        item_timeout,
    )
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} files/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("scanning (found so far)", total=None, rate="-")
        started = time.monotonic()

        def advance(step: int, found: int) -> None:
            """`found` grows while the walk runs; the rate counts from the start of the scan."""
            bar.update(task, total=found, advance=step)
            done = bar.tasks[task].completed
            bar.update(task, rate=f"{done / max(time.monotonic() - started, 1e-9):,.1f}")

        videos: dict[str, TaskID] = {}

        def video_advance(label: str, done: int, total: int) -> None:
            if label not in videos:
                videos[label] = bar.add_task("video", total=total or None, rate="-")
            bar.update(videos[label], completed=done, total=total or None)
            if total and done >= total - 30:
                bar.remove_task(videos.pop(label))

        try:
            scan_id = run_scan(
                store, who, path, options, resume=resume, progress=advance, video_progress=video_advance
            )
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: committed results are kept; rerun with --resume")
            raise typer.Exit(130) from None
    result = scan_report.build(store, scan_id)
    json_path, html_path = scan_report.write(result, report_dir)
    if review_votes:
        queued = review.enqueue_scan(store, who, scan_id, review_votes, contexts)
        err.print(f"{queued} matched items queued for human review")
    totals = result["totals"]
    table = Table(title=f"scan {scan_id}: {path}")
    for key in totals:
        table.add_column(key)
    table.add_row(*(str(v) for v in totals.values()))
    console.print(table)
    for item in result["matches"]:
        best = item["matches"][0]
        names = ", ".join(sorted({entry["list"] for m in item["matches"] for entry in m["lists"]}))
        console.print(
            f"[red]match[/] {item['path']}  {best['hash_type']} d={best['distance']} "
            f"{best.get('tier') or ''}  lists: {names}"
        )
    for error in result["errors"][:20]:
        console.print(f"[yellow]skipped[/] {error['path']}: {error['reason']}")
    if len(result["errors"]) > 20:
        console.print(f"[yellow]... {len(result['errors']) - 20} more in the report[/]")
    console.print(f"report: {json_path}  {html_path}")


def hash_file(
    path: Annotated[Path, typer.Argument(help="File (or archive!member) to hash")],
    mode: ModeOption = "exact",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    show_dihedral: Annotated[bool, typer.Option("--dihedral", help="Show the 8 PDQ variants")] = False,
    seconds_per_hash: Annotated[
        float, typer.Option(help="Video: one frame per this many seconds (0: all)")
    ] = 0.0,
    vpdq_out: Annotated[
        Path | None, typer.Option(help="Video: write frames in vPDQ text format here")
    ] = None,
) -> None:
    """Print a file's MD5, SHA-1, SHA-256, and PDQ (images) or vPDQ frames (videos)."""
    from vigil.media.archives import read_item
    from vigil.media.video import looks_like_video
    from vigil.media.walk import resolve_label
    from vigil.signals.compute import compute
    from vigil.signals.types import DIHEDRAL_NAMES

    try:
        ref = resolve_label(str(path))
        data = read_item(ref)
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc}") from None
    is_video = looks_like_video(str(path), data[:16])
    columns = (SpinnerColumn(), TextColumn("frames"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, disable=not is_video) as bar:
        task = bar.add_task("frames", total=None)
        signals = compute(
            str(path),
            data,
            _mode(mode),
            seconds_per_hash=seconds_per_hash,
            video_source=None if ref.members else ref.fs_path,
            video_progress=lambda done, total: bar.update(task, completed=done, total=total or None),
        )
    if vpdq_out is not None and signals.video is not None:
        vpdq_out.write_text(signals.video.to_text(), encoding="utf-8")
    if as_json:
        console.print_json(json.dumps(signals.to_dict()))
        return
    for key, value in signals.hashes().items():
        console.print(f"{key:8} {value}")
    if signals.pdq_quality is not None:
        console.print(f"{'quality':8} {signals.pdq_quality}")
    if signals.pdq_as_stored is not None:
        console.print(
            f"{'pdq':8} {signals.pdq_as_stored} (as stored; EXIF orientation {signals.exif_orientation})"
        )
    if signals.video is not None:
        video = signals.video
        console.print(
            f"{'video':8} {video.width}x{video.height}, {video.fps:.3f} fps, "
            f"{len(video.frames)} hashed frames"
        )
        if video.crop:
            console.print(
                f"{'bars':8} picture inside rows {video.crop[0]}-{video.crop[1]}, "
                f"cols {video.crop[2]}-{video.crop[3]}"
            )
        for frame in video.frames[:5]:
            console.print(f"  {frame.line()}")
        if len(video.frames) > 5:
            console.print(f"  ... ({len(video.frames) - 5} more; --vpdq-out FILE writes all)")
    if show_dihedral:
        for name, value in zip(DIHEDRAL_NAMES, signals.pdq_dihedral, strict=False):
            console.print(f"  {name:12} {value}")
    if signals.error:
        err.print(f"[yellow]warning:[/] {signals.error}")


def report(
    scan_id: Annotated[int, typer.Argument(help="Scan id")],
    db: DbOption = None,
    out: Annotated[Path, typer.Option(help="Output folder")] = Path("vigil-report"),
) -> None:
    """Write the JSON and HTML report of an earlier scan."""
    from vigil.sources.scan import report as scan_report

    result = scan_report.build(open_store(db), scan_id)
    for written in scan_report.write(result, out):
        console.print(str(written))
