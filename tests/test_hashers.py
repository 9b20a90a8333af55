"""The crawl's hashing processes (`vigil.sources.crawl.hashers` over `vigil.signals.worker`): files
hashed as in-process, a process busy past its caller's patience replaced, errors kept per file."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
from tests.conftest import bsds_images

from vigil.signals.compute import compute
from vigil.sources.crawl.hashers import Hashers, HashFailed

HERE = "tests.test_hashers"


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
