"""`vigil scan`: walk, hash in a process pool, match, and commit results batch by batch.

Each batch is committed with its matches, so an interrupted scan loses at most one batch and
`resume` picks up the items it has not recorded yet.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vigil.core.errors import ItemError, VigilError
from vigil.match.matcher import ItemMatches, MatchConfig, Matcher
from vigil.media.decode import Mode
from vigil.media.walk import ItemRef, read_item, walk
from vigil.signals.compute import FileSignals, compute, crypto_hashes
from vigil.store.db import Store
from vigil.store.models import ClassifierScore, Scan, ScanItem, ScanMatch, utcnow

BATCH = 128
Progress = Callable[[int, int], None]  # (advance, total)
VideoProgress = Callable[[str, int, int], None]  # (item label, frames decoded, frames expected or 0)


@dataclass
class ScanOptions:
    mode: Mode = "fast"
    workers: int = 0  # 0: one per CPU; 1: in this process
    match: MatchConfig = field(default_factory=MatchConfig)
    seconds_per_hash: float = 1.0  # video frame sampling; 0 hashes every frame
    cluster: str | None = None  # Dask scheduler address (tcp://host:8786); None hashes locally
    classifiers: tuple[str, ...] = ()  # classifier plug-ins to run on images (they only prioritise)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "seconds_per_hash": self.seconds_per_hash,
            "video_match_percent": self.match.video_match_percent,
            "radius": self.match.radius,
            "min_quality": self.match.min_quality,
            "dihedral": self.match.dihedral,
            "classifiers": list(self.classifiers),
        }


_VIDEO_PROGRESS: VideoProgress | None = None


def _init_worker(queue: Any) -> None:
    global _VIDEO_PROGRESS
    _VIDEO_PROGRESS = lambda label, done, total: queue.put((label, done, total))  # noqa: E731


def hash_ref(
    ref: ItemRef, mode: Mode, seconds_per_hash: float = 1.0, classifiers: tuple[str, ...] = ()
) -> FileSignals:
    """Worker entry point: never raises, so one bad file cannot take the pool down."""
    try:
        data = read_item(ref)
    except (OSError, ValueError, EOFError) as exc:
        return FileSignals(ref.label, 0, "", "", "", error=f"cannot read: {exc}")
    report = _VIDEO_PROGRESS
    try:
        return compute(
            ref.label,
            data,
            mode,
            seconds_per_hash=seconds_per_hash,
            video_source=None if ref.members else ref.path,
            video_progress=(lambda done, total: report(ref.label, done, total)) if report else None,
            classifiers=classifiers,
        )
    except Exception as exc:  # a decoder bug must not stop the scan: keep exact hashes, record why
        md5, sha1, sha256 = crypto_hashes(data)
        return FileSignals(ref.label, len(data), md5, sha1, sha256, error=f"hashing failed: {exc!r}")


def start_or_resume(store: Store, root: Path, options: ScanOptions, resume: bool) -> tuple[int, set[str]]:
    """A scan id and the labels it already holds (empty for a new scan)."""
    with store.session() as session:
        if resume:
            scan = session.scalars(
                select(Scan).where(Scan.root == str(root), Scan.status != "done").order_by(Scan.id.desc())
            ).first()
            if scan is None:
                raise VigilError(f"no unfinished scan of {root} to resume")
            scan.status = "running"
            session.commit()
            done = set(session.scalars(select(ScanItem.path).where(ScanItem.scan_id == scan.id)))
            return scan.id, done
        scan = Scan(root=str(root), status="running", options=options.as_dict())
        session.add(scan)
        session.commit()
        return scan.id, set()


def run_scan(
    store: Store,
    root: Path,
    options: ScanOptions | None = None,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    video_progress: VideoProgress | None = None,
) -> int:
    """Scan root into the store and return the scan id."""
    options = options or ScanOptions()
    root = root.resolve()
    if not root.exists():
        raise VigilError(f"{root} does not exist")
    scan_id, done = start_or_resume(store, root, options, resume)
    refs: list[ItemRef] = []
    walk_errors: list[ItemError] = []
    for item in walk(root):
        if isinstance(item, ItemError):
            if item.where not in done:
                walk_errors.append(item)
        elif item.label not in done:
            refs.append(item)
    # An archive that cannot be opened is still a hashed file: its error rides on that item.
    labels = {ref.label for ref in refs}
    archive_errors = {e.where: e.reason for e in walk_errors if e.where in labels}
    standalone = [e for e in walk_errors if e.where not in labels]
    total = len(refs) + len(standalone)
    if progress:
        progress(0, total)
    matcher = Matcher(store, options.match)
    try:
        _record_errors(store, scan_id, standalone)
        if progress and standalone:
            progress(len(standalone), total)
        for batch in _hashed_batches(refs, options, video_progress):
            for signals in batch:
                if signals.path in archive_errors and not signals.error:
                    signals.error = archive_errors[signals.path]
            _record(store, scan_id, matcher.match(batch))
            if progress:
                progress(len(batch), total)
    except BaseException:
        _set_status(store, scan_id, "interrupted")
        raise
    _set_status(store, scan_id, "done")
    return scan_id


def _hashed_batches(
    refs: list[ItemRef], options: ScanOptions, video_progress: VideoProgress | None
) -> Iterator[list[FileSignals]]:
    if options.cluster:
        from vigil.sources.scan.cluster import dask_batches

        yield from dask_batches(
            options.cluster,
            refs,
            options.mode,
            options.seconds_per_hash,
            BATCH,
            classifiers=options.classifiers,
        )
        return
    workers = options.workers or os.cpu_count() or 1
    if workers == 1 or len(refs) < 8:
        global _VIDEO_PROGRESS
        _VIDEO_PROGRESS = video_progress
        try:
            for start in range(0, len(refs), BATCH):
                yield [
                    hash_ref(ref, options.mode, options.seconds_per_hash, options.classifiers)
                    for ref in refs[start : start + BATCH]
                ]
        finally:
            _VIDEO_PROGRESS = None
        return
    context = multiprocessing.get_context("spawn")
    queue = context.SimpleQueue()
    relay = threading.Thread(target=_relay, args=(queue, video_progress), daemon=True)
    relay.start()
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(queue,)
        ) as pool:
            yield from _pooled(pool, refs, options, workers)
    finally:
        queue.put(None)
        relay.join(timeout=5)


def _relay(queue: Any, video_progress: VideoProgress | None) -> None:
    """Forward per-frame progress of long videos from worker processes to the caller."""
    while (message := queue.get()) is not None:
        if video_progress is not None:
            video_progress(*message)


def _pooled(
    pool: ProcessPoolExecutor, refs: list[ItemRef], options: ScanOptions, workers: int
) -> Iterator[list[FileSignals]]:
    pending: list[Future[list[FileSignals]]] = []
    ready: list[FileSignals] = []
    for start in range(0, len(refs), 16):
        pending.append(
            pool.submit(
                hash_chunk,
                refs[start : start + 16],
                options.mode,
                options.seconds_per_hash,
                options.classifiers,
            )
        )
        while len(pending) > workers * 4:
            ready.extend(pending.pop(0).result())
            if len(ready) >= BATCH:
                yield ready
                ready = []
    for future in pending:
        ready.extend(future.result())
        if len(ready) >= BATCH:
            yield ready
            ready = []
    if ready:
        yield ready


def hash_chunk(
    chunk: list[ItemRef], mode: Mode, seconds_per_hash: float, classifiers: tuple[str, ...] = ()
) -> list[FileSignals]:
    """Hash a few items (a unit of work for the process pool or a Dask worker)."""
    return [hash_ref(ref, mode, seconds_per_hash, classifiers) for ref in chunk]


def _status(result: ItemMatches) -> str:
    if result.ignored:
        return "ignored"
    if result.signals.error:
        return "error"
    if result.low_quality:
        return "low_quality"
    return "hashed"


def _record(store: Store, scan_id: int, results: list[ItemMatches]) -> None:
    with store.session() as session:
        rows = []
        for result in results:
            s = result.signals
            row = ScanItem(
                scan_id=scan_id,
                path=s.path,
                status=_status(result),
                size=s.size,
                media_type=s.media_type,
                md5=s.md5 or None,
                sha1=s.sha1 or None,
                sha256=s.sha256 or None,
                pdq=s.pdq,
                pdq_quality=s.pdq_quality,
                frames=len(s.video.frames) if s.video else None,
                duration=s.video.duration if s.video else None,
                error=s.error,
            )
            rows.append(row)
        session.add_all(rows)
        session.flush()
        for row, result in zip(rows, results, strict=True):
            session.add_all(
                ClassifierScore(scan_item_id=row.id, model_id=m, model_version=v, name=n, score=x)
                for m, v, n, x in result.signals.scores
            )
            if result.ignored:
                continue
            session.add_all(
                ScanMatch(
                    item_id=row.id,
                    entry_id=m.entry_id,
                    hash_type=m.hash_type,
                    distance=m.distance,
                    variant=m.variant,
                    detail=m.detail,
                )
                for m in result.matches
            )
        session.commit()


def _record_errors(store: Store, scan_id: int, errors: list[ItemError]) -> None:
    if not errors:
        return
    with store.session() as session:
        session.add_all(
            ScanItem(scan_id=scan_id, path=e.where, status="error", error=e.reason) for e in errors
        )
        session.commit()


def _set_status(store: Store, scan_id: int, status: str) -> None:
    with store.session() as session:
        scan = session.get(Scan, scan_id)
        if scan is not None:
            scan.status = status
            scan.finished_at = utcnow() if status == "done" else None
            session.commit()
