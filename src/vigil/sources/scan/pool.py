"""Worker processes that hash scan units in isolation, so no single item can stop a scan.

Each worker takes one unit at a time over its own pipe and reports every item it starts and finishes.
The parent watches them: a worker that dies (a crash, `kill -9`, the kernel's OOM killer), that passes
its memory cap (resident size, read from /proc) or that goes quiet for longer than the item time limit
is killed and replaced. The unit goes back in the queue and is retried once the other work is done,
one unit at a time; if the same item fails again it is recorded as `worker died`, `out of memory` or
`timeout` and the rest of its unit goes on without it. Workers ask the kernel to kill them when the
scanning process dies, and also stop when their pipe closes, so an interrupted scan leaves no orphans.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import Any

from vigil.core import defaults
from vigil.core.children import die_with_parent
from vigil.media.walk import ItemRef, Listed
from vigil.signals.compute import FileSignals
from vigil.signals.items import HashSettings, UnitHasher

POLL = 0.2
STARTUP_LIMIT = 120.0  # seconds a fresh worker may take to start (imports on a loaded machine)
FAILURES = {"died": "worker died", "memory": "out of memory", "timeout": "timeout"}
Result = FileSignals | Listed
Frames = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PoolSettings:
    workers: int = 2
    memory_cap: int = defaults.ITEM_MEMORY_MIB << 20  # resident bytes per worker before out of memory
    item_timeout: float = defaults.ITEM_TIMEOUT  # seconds without progress before the item is hung
    classifiers: tuple[str, ...] = ()


@dataclass
class Unit:
    ref: ItemRef
    skip: frozenset[str] = frozenset()
    attempts: dict[str, int] = field(default_factory=dict)  # item key -> failed attempts


def classifier(names: tuple[str, ...]) -> Callable[[bytes], list[tuple[str, str, str, float]]] | None:
    """Scores from each requested plug-in for an image's bytes, with the model that produced them."""
    if not names:
        return None

    def classify(data: bytes) -> list[tuple[str, str, str, float]]:
        from vigil.intel.classify.base import load
        from vigil.media.decode import decode

        rgb = decode(data, "exact")
        out = []
        for name in names:
            model = load(name)
            for score_name, score in model.classify([rgb])[0].items():
                out.append((model.identity.model_id, model.identity.version, score_name, float(score)))
        return out

    return classify


def worker_main(conn: Connection, settings: HashSettings, classifiers: tuple[str, ...], parent: int) -> None:
    """A worker's loop: hash units until told to stop or until the parent goes away."""
    die_with_parent(parent)
    classify = classifier(classifiers)
    conn.send(("ready", 0))  # start-up (spawn, imports) is not item time: the clock starts now
    while os.getppid() == parent:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        unit_id, ref_json, skip = message
        hasher = UnitHasher(
            settings,
            emit=partial(_send, conn, "result", unit_id),
            started=partial(_send_start, conn, unit_id),
            skip=skip,
            classify=classify,
            frames=partial(_send, conn, "frames", unit_id),
        )
        try:
            hasher.hash_file(ItemRef.from_json(ref_json))
        except MemoryError:
            conn.send(("failed", unit_id, "memory"))
            continue
        conn.send(("done", unit_id))


def _send(conn: Connection, kind: str, unit_id: int, *payload: Any) -> None:
    conn.send((kind, unit_id, *payload))


def _send_start(conn: Connection, unit_id: int, ref: ItemRef) -> None:
    conn.send(("start", unit_id, ref.to_json()))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    unit_id: int | None = None
    item: ItemRef | None = None  # the item in progress
    last_seen: float = 0.0
    killed_for: str | None = None
    ready: bool = False  # the worker has started up; until then its item's clock does not run


class WorkerPool:
    """Runs units through isolated workers and yields each item's result as it arrives."""

    def __init__(self, hashing: HashSettings, settings: PoolSettings, frames: Frames | None = None) -> None:
        self.hashing, self.settings, self.frames = hashing, settings, frames
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.units: dict[int, Unit] = {}
        self.retries: deque[int] = deque()
        self.failures: list[Listed] = []  # items that failed twice, drained by the caller
        self._ids = 0

    def run(self, source: queue.Queue[Unit | None]) -> Iterator[Result]:
        """Results of every unit put on `source` (None ends it); the walk and hashing overlap."""
        self.workers = [self._spawn() for _ in range(max(1, self.settings.workers))]
        walked = False
        try:
            while True:
                idle = [w for w in self.workers if w.unit_id is None]
                busy = len(self.workers) - len(idle)
                while idle and not walked:
                    try:
                        unit = source.get(timeout=0 if busy else POLL)
                    except queue.Empty:
                        break
                    if unit is None:
                        walked = True
                        break
                    self._ids += 1
                    self.units[self._ids] = unit
                    self._assign(idle.pop(), self._ids)
                    busy += 1
                if walked and busy == 0:
                    if not self.retries:
                        return
                    self._assign(idle[0], self.retries.popleft())  # a retry runs alone
                    busy = 1
                if busy:
                    yield from self._collect()
        finally:
            self._stop()

    def _spawn(self) -> _Worker:
        ours, theirs = self.context.Pipe()
        process = self.context.Process(
            target=worker_main,
            args=(theirs, self.hashing, self.settings.classifiers, os.getpid()),
            daemon=True,
            name="vigil-scan-worker",
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _assign(self, worker: _Worker, unit_id: int) -> None:
        unit = self.units[unit_id]
        worker.unit_id, worker.item, worker.killed_for = unit_id, None, None
        worker.last_seen = time.monotonic()
        worker.conn.send((unit_id, unit.ref.to_json(), unit.skip))

    def _collect(self) -> Iterator[Result]:
        busy = [w for w in self.workers if w.unit_id is not None]
        wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=POLL)
        for worker in busy:
            yield from self._drain(worker)
            if worker.unit_id is not None and not worker.process.is_alive():
                yield from self._drain(worker)
                if worker.unit_id is not None:
                    self._lost(worker)
        self._watch()

    def _drain(self, worker: _Worker) -> Iterator[Result]:
        while worker.unit_id is not None:
            try:
                if not worker.conn.poll():
                    return
                message = worker.conn.recv()
            except (EOFError, OSError):
                return
            worker.last_seen = time.monotonic()
            kind, unit_id = message[0], message[1]
            if kind == "ready":
                worker.ready = True
            elif kind == "start":
                worker.item = ItemRef.from_json(message[2])
            elif kind == "result":
                yield message[2]
            elif kind == "frames":
                if self.frames is not None and worker.item is not None:
                    self.frames(worker.item.label, message[2], message[3])
            elif kind == "failed":  # the worker caught a MemoryError and lives on
                self._requeue(unit_id, worker.item, message[2])
                worker.unit_id, worker.item = None, None
            elif kind == "done":
                self.units.pop(unit_id, None)
                worker.unit_id, worker.item = None, None

    def _watch(self) -> None:
        """Kill workers that hang past the item time limit or grow past the memory cap."""
        now = time.monotonic()
        for worker in self.workers:
            if worker.unit_id is None or worker.killed_for is not None:
                continue
            limit = (
                self.settings.item_timeout if worker.ready else max(STARTUP_LIMIT, self.settings.item_timeout)
            )
            if now - worker.last_seen > limit:
                self._kill(worker, "timeout")
            elif _resident(worker.process.pid) > self.settings.memory_cap:
                self._kill(worker, "memory")

    def _kill(self, worker: _Worker, why: str) -> None:
        worker.killed_for = why
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.process.pid, signal.SIGKILL)

    def _lost(self, worker: _Worker) -> None:
        """The worker is gone mid-unit: requeue its unit around the item it was on, and replace it."""
        assert worker.unit_id is not None
        self._requeue(worker.unit_id, worker.item, worker.killed_for or "died")
        worker.process.join(timeout=1)
        worker.conn.close()
        self.workers[self.workers.index(worker)] = self._spawn()

    def _requeue(self, unit_id: int, item: ItemRef | None, why: str) -> None:
        unit = self.units[unit_id]
        failed = item or unit.ref
        unit.attempts[failed.key] = unit.attempts.get(failed.key, 0) + 1
        if unit.attempts[failed.key] >= 2:  # failed twice, the second time alone: record it, go on
            self.failures.append(Listed(failed, FAILURES[why], unreadable=True))
            unit.skip = unit.skip | {failed.key}
            if failed.key == unit.ref.key:
                self.units.pop(unit_id, None)
                return
        self.retries.append(unit_id)

    def take_failures(self) -> list[Listed]:
        out, self.failures = self.failures, []
        return out

    def _stop(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + 5
        for worker in self.workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=1)
            worker.conn.close()


def _resident(pid: int) -> int:
    """Resident set size in bytes (Linux /proc); 0 where it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
