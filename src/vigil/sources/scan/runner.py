"""`vigil scan`: walk, hash in a process pool, match, and commit results batch by batch.

Each batch is committed with its matches, so an interrupted scan loses at most one batch and
`resume` picks up the items it has not recorded yet. Starting, resuming and finishing a scan are
audited under the actor who ran it.
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

from vigil.core.actor import Actor
from vigil.core.clock import utcnow
from vigil.core.errors import ItemError, NotFound
from vigil.core.states import ItemStatus, ScanStatus
from vigil.match.matcher import ItemMatches, MatchConfig, Matcher
from vigil.media.decode import Mode
from vigil.media.walk import ItemRef, walk
from vigil.signals.compute import FileSignals, hash_item
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import Scan, ScanItem
from vigil.store.repo import scans as repo

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
    """Worker entry point: never raises, so one bad file cannot take the pool down.

    Classifiers run here too (they only add scores that order review), on the decoded image.
    """
    report = _VIDEO_PROGRESS
    signals, data = hash_item(
        ref,
        mode,
        seconds_per_hash,
        (lambda done, total: report(ref.label, done, total)) if report else None,
    )
    if classifiers and data is not None and signals.media_type == "image" and signals.pdq:
        try:
            signals.scores = classify_image(data, classifiers)
        except Exception as exc:  # a model failure must not lose the item's hashes
            signals.error = signals.error or f"classifier failed: {exc!r}"
    return signals


def classify_image(data: bytes, names: tuple[str, ...]) -> list[tuple[str, str, str, float]]:
    """Scores from each requested plug-in, with the model identity that produced them."""
    from vigil.intel.classify.base import load
    from vigil.media.decode import decode

    rgb = decode(data, "exact")
    out = []
    for name in names:
        model = load(name)
        for score_name, score in model.classify([rgb])[0].items():
            out.append((model.identity.model_id, model.identity.version, score_name, float(score)))
    return out


def start_or_resume(
    store: Store, actor: Actor, root: Path, options: ScanOptions, resume: bool
) -> tuple[int, set[str]]:
    """A scan id and the labels it already holds (empty for a new scan); audited."""
    with store.transaction() as tx:
        if resume:
            scan = repo.latest_unfinished(tx, str(root))
            if scan is None:
                raise NotFound(f"no unfinished scan of {root} to resume")
            scan.status = ScanStatus.RUNNING
            audit.record(tx, actor, "scan.resume", f"scan:{scan.id}", {"root": str(root)})
            return scan.id, repo.item_paths(tx, scan.id)
        scan = Scan(root=str(root), status=ScanStatus.RUNNING, options=options.as_dict())
        tx.add(scan)
        tx.flush()
        audit.record(tx, actor, "scan.start", f"scan:{scan.id}", {"root": str(root), **options.as_dict()})
        return scan.id, set()


def run_scan(
    store: Store,
    actor: Actor,
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
        raise NotFound(f"{root} does not exist")
    scan_id, done = start_or_resume(store, actor, root, options, resume)
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
        _set_status(store, actor, scan_id, ScanStatus.INTERRUPTED)
        raise
    _set_status(store, actor, scan_id, ScanStatus.DONE)
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


def _status(result: ItemMatches) -> ItemStatus:
    if result.ignored:
        return ItemStatus.IGNORED
    if result.signals.error:
        return ItemStatus.ERROR
    if result.low_quality:
        return ItemStatus.LOW_QUALITY
    return ItemStatus.HASHED


def _record(store: Store, scan_id: int, results: list[ItemMatches]) -> None:
    rows, matches, scores = [], [], []
    for result in results:
        s = result.signals
        rows.append(
            ScanItem(
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
        )
        scores.append([{"model_id": m, "model_version": v, "name": n, "score": x} for m, v, n, x in s.scores])
        matches.append(
            []
            if result.ignored
            else [
                {
                    "entry_id": m.entry_id,
                    "hash_type": m.hash_type,
                    "distance": m.distance,
                    "variant": m.variant,
                    "detail": m.detail,
                }
                for m in result.matches
            ]
        )
    with store.transaction() as tx:
        repo.add_items(tx, rows, matches, scores)


def _record_errors(store: Store, scan_id: int, errors: list[ItemError]) -> None:
    if not errors:
        return
    rows = [ScanItem(scan_id=scan_id, path=e.where, status=ItemStatus.ERROR, error=e.reason) for e in errors]
    with store.transaction() as tx:
        repo.add_items(tx, rows, [[] for _ in rows], [[] for _ in rows])


def _set_status(store: Store, actor: Actor, scan_id: int, status: ScanStatus) -> None:
    with store.transaction() as tx:
        scan = repo.scan(tx, scan_id)
        if scan is None:
            return
        scan.status = status
        scan.finished_at = utcnow() if status == ScanStatus.DONE else None
        audit.record(tx, actor, f"scan.{status.value}", f"scan:{scan_id}")


def recent_scans(store: Store, limit: int = 100) -> list[Scan]:
    with store.session() as tx:
        return repo.recent(tx, limit)
