"""`vigil scan`: walk, hash in isolated workers, match, and commit results batch by batch.

The walk runs in a thread and hands units to the worker pool as it finds them, so hashing starts at
once and the progress total grows with what was found so far. Results are committed with their matches
in batches; a batch the database refuses is written row by row, and a row it still refuses becomes an
error item naming why. A running scan writes a heartbeat, so a scan whose process was killed shows as
interrupted; `resume` skips every item already recorded (a container is recorded after its members,
so a recorded container means a finished subtree). Starting, resuming and finishing are audited.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from vigil.core.actor import Actor
from vigil.core.clock import utcnow
from vigil.core.errors import NotFound
from vigil.core.states import ItemStatus, ScanStatus
from vigil.match import verify
from vigil.match.matcher import ItemMatches, MatchConfig, Matcher
from vigil.match.tiers import Tier
from vigil.media.archives import Limits
from vigil.media.decode import Mode
from vigil.media.walk import ItemRef, Listed, walk
from vigil.signals.compute import FileSignals
from vigil.signals.items import HashSettings
from vigil.sources.scan.pool import PoolSettings, Unit, WorkerPool
from vigil.store import audit, sealed
from vigil.store.db import Store
from vigil.store.models import Scan, ScanItem
from vigil.store.repo import scans as repo

BATCH = 128
FLUSH_SECONDS = 2.0
HEARTBEAT = timedelta(seconds=15)
Progress = Callable[[int, int], None]  # (advance, total found so far)
VideoProgress = Callable[[str, int, int], None]  # (item label, frames decoded, frames expected or 0)
Result = FileSignals | Listed


@dataclass
class ScanOptions:
    mode: Mode = "fast"
    workers: int = 0  # hashing processes; 0: one per CPU
    match: MatchConfig = field(default_factory=MatchConfig)
    seconds_per_hash: float = 1.0  # video frame sampling; 0 hashes every frame
    cluster: str | None = None  # Dask scheduler address (tcp://host:8786); None hashes locally
    classifiers: tuple[str, ...] = ()  # classifier plug-ins to run on images (they only prioritise)
    limits: Limits = field(default_factory=Limits)
    memory_cap: int = PoolSettings.memory_cap
    item_timeout: float = PoolSettings.item_timeout
    protected: tuple[str, ...] = ()  # files and folders never read (the vault, keys, index); the DB always

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "seconds_per_hash": self.seconds_per_hash,
            "video_match_percent": self.match.video_match_percent,
            "radius": self.match.radius,
            "min_quality": self.match.min_quality,
            "dihedral": self.match.dihedral,
            "normalise": self.match.normalise,
            "classifiers": list(self.classifiers),
            "max_pixels": self.limits.max_pixels,
            "max_depth": self.limits.max_depth,
            "max_members": self.limits.max_members,
            "max_inflated": self.limits.max_inflated,
            "max_ratio": self.limits.max_ratio,
            "memory_cap": self.memory_cap,
            "item_timeout": self.item_timeout,
        }

    @property
    def hashing(self) -> HashSettings:
        return HashSettings(self.mode, self.seconds_per_hash, self.limits, self.match.normalise)


def start_or_resume(
    store: Store, actor: Actor, root: Path, options: ScanOptions, resume: bool
) -> tuple[int, set[str]]:
    """A scan id and the item keys it already holds (empty for a new scan); audited."""
    with store.transaction() as tx:
        if resume:
            scan = repo.latest_unfinished(tx, str(root))
            if scan is None:
                raise NotFound(f"no unfinished scan of {root} to resume")
            scan.status, scan.heartbeat_at = ScanStatus.RUNNING, utcnow()
            audit.record(tx, actor, "scan.resume", f"scan:{scan.id}", {"root": str(root)})
            return scan.id, repo.item_keys(tx, scan.id)
        scan = Scan(
            root=str(root), status=ScanStatus.RUNNING, options=options.as_dict(), heartbeat_at=utcnow()
        )
        tx.add(scan)
        tx.flush()
        audit.record(tx, actor, "scan.start", f"scan:{scan.id}", {"root": str(root), **options.as_dict()})
        return scan.id, set()


class _Walker(threading.Thread):
    """Walks the root into a bounded queue of units; entries that are not read go to `listed`."""

    def __init__(self, root: Path, done: set[str], protected: tuple[str, ...] = ()) -> None:
        super().__init__(daemon=True, name="vigil-walk")
        self.root, self.done, self.protected = root, done, protected
        self.units: queue.Queue[Unit | None] = queue.Queue(maxsize=10_000)
        self.listed: deque[Listed] = deque()
        self.found = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            for entry in walk(self.root):
                if self.stopped.is_set():
                    return
                ref = entry.ref if isinstance(entry, Listed) else entry
                if ref.key in self.done:
                    continue
                if self.protected and _is_protected(os.path.realpath(os.fsdecode(ref.path)), self.protected):
                    entry = Listed(ref, "Vigil's own database, vault, key or index: not read")
                self.found += 1
                if isinstance(entry, Listed):
                    self.listed.append(entry)
                else:
                    self._put(Unit(entry))
        finally:
            self._put(None)

    def _put(self, unit: Unit | None) -> None:
        while not self.stopped.is_set():
            try:
                self.units.put(unit, timeout=0.5)
                return
            except queue.Full:
                continue


def _is_protected(path: str, protected: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p.rstrip(os.sep) + os.sep) for p in protected)


class _Heartbeat(threading.Thread):
    def __init__(self, store: Store, scan_id: int) -> None:
        super().__init__(daemon=True, name="vigil-heartbeat")
        self.store, self.scan_id, self.stopped = store, scan_id, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT.total_seconds()):
            with self.store.transaction() as tx:
                repo.beat(tx, self.scan_id)


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
    root = root.absolute()
    if not os.path.lexists(root):
        raise NotFound(f"{root} does not exist")
    scan_id, done = start_or_resume(store, actor, root, options, resume)
    matcher = Matcher(store, options.match)
    own = (*store.local_files(), sealed.key_file())  # never read: the database and the data key
    protected = tuple(os.path.realpath(str(p)) for p in (*options.protected, *own))
    walker, heartbeat = _Walker(root, done, protected), _Heartbeat(store, scan_id)
    walker.start()
    heartbeat.start()
    recorder = _Recorder(store, scan_id, matcher, done, progress, walker)
    try:
        for result in _results(walker, options, video_progress, recorder):
            recorder.add(result)
        recorder.flush()
    except BaseException:
        walker.stopped.set()
        heartbeat.stopped.set()
        recorder.flush_quietly()
        _set_status(store, actor, scan_id, ScanStatus.INTERRUPTED)
        raise
    heartbeat.stopped.set()
    _set_status(store, actor, scan_id, ScanStatus.DONE)
    return scan_id


def _results(
    walker: _Walker, options: ScanOptions, video_progress: VideoProgress | None, recorder: _Recorder
) -> Iterator[Result]:
    if options.cluster:
        from vigil.sources.scan.cluster import dask_results

        yield from dask_results(options.cluster, _drain(walker.units), options.hashing, options.classifiers)
        yield from walker.listed
        return
    settings = PoolSettings(
        options.workers or os.cpu_count() or 1, options.memory_cap, options.item_timeout, options.classifiers
    )
    pool = WorkerPool(options.hashing, settings, video_progress)
    for result in pool.run(walker.units):
        yield result
        while walker.listed:
            yield walker.listed.popleft()
        recorder.maybe_flush()
        yield from pool.take_failures()
    yield from walker.listed
    yield from pool.take_failures()


def _drain(units: queue.Queue[Unit | None]) -> Iterator[ItemRef]:
    while (unit := units.get()) is not None:
        yield unit.ref


class _Recorder:
    """Collects results, matches them and commits them in batches; counts finished units."""

    def __init__(
        self,
        store: Store,
        scan_id: int,
        matcher: Matcher,
        done: set[str],
        progress: Progress | None,
        walker: _Walker,
    ) -> None:
        self.store, self.scan_id, self.matcher, self.done = store, scan_id, matcher, done
        self.progress, self.walker = progress, walker
        self.batch: list[Result] = []
        self.last_flush = time.monotonic()

    def add(self, result: Result) -> None:
        key = result.ref.key if isinstance(result, Listed) else result.key
        if key in self.done:
            return
        self.done.add(key)
        self.batch.append(result)
        if len(self.batch) >= BATCH:
            self.flush()

    def maybe_flush(self) -> None:
        if self.batch and time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        hashed = [r for r in batch if isinstance(r, FileSignals)]
        results = self.matcher.match(hashed)
        for result in results:
            _check_weak(self.store, result)
        matched = iter(results)
        rows = [
            _row(self.scan_id, next(matched)) if isinstance(r, FileSignals) else _listed(self.scan_id, r)
            for r in batch
        ]
        repo.add_rows(self.store, rows)
        if self.progress:
            finished = sum(1 for r in batch if _is_unit(r))
            self.progress(finished, self.walker.found)

    def flush_quietly(self) -> None:
        """On the way out after an interruption: keep what is in hand if the store still takes it."""
        try:
            self.flush()
        except Exception:  # the scan is already stopping; the items will be hashed again on resume
            self.batch = []


VERIFY_BYTES = 64 << 20  # files up to this size are read again to check a weak match


def _check_weak(store: Store, result: ItemMatches) -> None:
    """Check weak matches against the known pictures' keypoints (`vigil.match.verify`), reading the
    file again: weak matches are rare, and keypoints of every scanned file would cost every scan.
    Archive members and files that changed or vanished since hashing stay unchecked."""
    if not any(m.tier == Tier.WEAK for m in result.matches):
        return
    ref = ItemRef.from_json(result.signals.ref) if result.signals.ref else ItemRef.of(result.signals.path)
    if ref.members:
        return
    try:
        with open(ref.fs_path, "rb") as handle:
            data = handle.read(VERIFY_BYTES + 1)
    except OSError:
        return
    if len(data) <= VERIFY_BYTES and hashlib.sha256(data).hexdigest() == result.signals.sha256:
        verify.check(store, result, data)


def _is_unit(result: Result) -> bool:
    ref = result.ref if isinstance(result, Listed) else ItemRef.from_json(result.ref) if result.ref else None
    return ref is None or not ref.members


def _status(result: ItemMatches) -> ItemStatus:
    if result.ignored:
        return ItemStatus.IGNORED
    if result.signals.error:
        return ItemStatus.ERROR
    if result.low_quality:
        return ItemStatus.LOW_QUALITY
    return ItemStatus.HASHED


def _row(scan_id: int, result: ItemMatches) -> repo.Row:
    s = result.signals
    ref = ItemRef.from_json(s.ref) if s.ref else ItemRef.of(s.path)
    item = ScanItem(
        scan_id=scan_id,
        path=ref.label,
        ref=ref.to_json(),
        ref_key=ref.key,
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
    scores = [{"model_id": m, "model_version": v, "name": n, "score": x} for m, v, n, x in s.scores]
    matches = (
        []
        if result.ignored
        else [
            {
                "entry_id": m.entry_id,
                "hash_type": m.hash_type,
                "distance": m.distance,
                "variant": m.variant,
                "tier": m.tier.value,
                "detail": m.recorded_detail(),
            }
            for m in result.matches
        ]
    )
    return repo.Row(item, matches, scores)


def _listed(scan_id: int, entry: Listed) -> repo.Row:
    status = ItemStatus.ERROR if entry.unreadable else ItemStatus.SKIPPED
    item = ScanItem(
        scan_id=scan_id,
        path=entry.ref.label,
        ref=entry.ref.to_json(),
        ref_key=entry.ref.key,
        status=status,
        error=entry.reason,
    )
    return repo.Row(item, [], [])


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
