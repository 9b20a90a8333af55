"""The crawl's hashing processes (`vigil.sources.crawl.hashers` over `vigil.signals.worker`): files
hashed as in-process, a process busy past its caller's patience replaced, errors kept per file."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import pytest
from tests.conftest import bsds_images

from vigil.signals.compute import compute
from vigil.sources.crawl.hashers import Hashers, HashFailed

HERE = "tests.test_hashers"
_PAIR = threading.Barrier(2, timeout=3.0)


def _awkward(name: str, data: bytes, mode: str) -> Any:
    """Hashes like the real thing, except: prints to standard output on every file (as libpng's
    warnings would), sleeps on `SLOW`, raises on `RAISE`."""
    print("a decoder library talking on standard output")
    os.write(1, b"and one writing to the descriptor itself\n")
    if data.startswith(b"SLOW"):
        time.sleep(60)
    if data.startswith(b"RAISE"):
        raise ValueError("this file upsets the hashing code")
    return compute(name, data, mode)  # type: ignore[arg-type]


def test_a_hashing_process_gives_what_compute_gives_and_survives_errors_and_chatter() -> None:
    image = bsds_images()[3].read_bytes()

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_awkward")
        try:
            signals = await hashers.hash("a.jpg", image)
            with pytest.raises(HashFailed, match="upsets the hashing code"):
                await hashers.hash("b.jpg", b"RAISE")
            again = await hashers.hash("a.jpg", image)
            [pid] = hashers.pids()
        finally:
            await hashers.close()
        expected = compute("a.jpg", image, "fast")
        assert signals.pdq == again.pdq == expected.pdq and signals.sha256 == expected.sha256
        assert signals.pdq_variants == expected.pdq_variants
        assert not hashers.workers
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    asyncio.run(run())


def test_a_process_the_caller_stops_waiting_for_is_killed_and_replaced() -> None:
    image = bsds_images()[4].read_bytes()

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_awkward")
        try:
            await hashers.start()
            [stuck] = hashers.pids()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(hashers.hash("slow.jpg", b"SLOW"), 2.0)
            signals = await hashers.hash("a.jpg", image)
            [fresh] = hashers.pids()
        finally:
            await hashers.close()
        assert fresh != stuck and signals.pdq
        await asyncio.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.kill(stuck, 0)

    asyncio.run(run())


def _in_pairs(name: str, data: bytes, mode: str) -> Any:
    """Hashes only with another file being hashed at the same time in the same process."""
    try:
        _PAIR.wait()
    except threading.BrokenBarrierError:
        _PAIR.reset()  # for the next pair
        raise
    return compute(name, data, mode)  # type: ignore[arg-type]


def test_a_widened_process_hashes_two_files_at_once_and_gives_what_compute_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One process on two cores, widened (a crawl with no page left): two files are hashed side
    by side, each exactly as in-process. Before it is widened the same two files cannot meet."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    images = [path.read_bytes() for path in bsds_images()[5:7]]

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_in_pairs")
        try:
            with pytest.raises(HashFailed, match="BrokenBarrierError"):
                await hashers.hash("alone.jpg", images[0])
            hashers.widen()
            both = await asyncio.gather(*(hashers.hash(f"{n}.jpg", image) for n, image in enumerate(images)))
            [pid] = hashers.pids()
        finally:
            await hashers.close()
        for n, (signals, image) in enumerate(zip(both, images, strict=True)):
            expected = compute(f"{n}.jpg", image, "fast")
            assert (signals.pdq, signals.pdq_variants, signals.sha256) == (
                expected.pdq,
                expected.pdq_variants,
                expected.sha256,
            )
        assert hashers.threads == 2
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    asyncio.run(run())
