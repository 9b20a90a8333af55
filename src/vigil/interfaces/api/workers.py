"""Work the service must not do on its event loop or in its request threads: hashing uploads.

Uploaded media are hashed in a small pool of separate processes behind a bounded queue: a slow or
huge file occupies one worker, never the event loop and never the GIL the other requests need. When
every worker is busy and the queue is full, the request is refused with 429 (and Retry-After)
instead of piling up. The pixel limit is checked from the image header before anything is decoded.
Per-key rate limits keep one client from starving the others.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing import get_context

from vigil.core.errors import VigilError
from vigil.signals.compute import FileSignals, compute


class Busy(VigilError):
    """The service is at capacity for this kind of work; retry after a moment."""

    status = 429


class MediaPool:
    def __init__(
        self, workers: int = 2, backlog: int = 8, timeout: float = 120.0, max_pixels: int = 50_000_000
    ):
        self.workers, self.timeout = workers, timeout
        self.slots = threading.BoundedSemaphore(workers + backlog)
        self.hash = partial(compute, mode="fast", max_pixels=max_pixels)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
            return self._pool

    async def signals(self, name: str, data: bytes) -> FileSignals:
        if not self.slots.acquire(blocking=False):
            raise Busy("too many uploads are being hashed; retry in a few seconds")
        try:
            future: Future[FileSignals] = self._executor().submit(self.hash, name, data)
        except BrokenProcessPool:
            self.slots.release()
            self._reset()
            raise Busy("the hashing workers restarted; retry") from None
        future.add_done_callback(lambda _f: self.slots.release())  # the slot is free when the work is
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            raise Busy(f"hashing took longer than {self.timeout:.0f} s") from None
        except BrokenProcessPool:
            self._reset()
            raise Busy("a hashing worker died on this file (out of memory?); it was not hashed") from None

    def _reset(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


class RateLimiter:
    """A token bucket per key: `rate` requests per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, who: str, now: float | None = None) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, last = self.buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                self.buckets[who] = (tokens, now)
                return False
            self.buckets[who] = (tokens - 1, now)
            return True
