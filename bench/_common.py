"""Helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from vigil.core.actor import Actor

DATA = (Path(__file__).resolve().parents[1].parent / "shared" / "data").resolve()
BSDS = DATA / "bsds500"


def bsds_images() -> list[Path]:
    paths = sorted(BSDS.rglob("*.jpg"))
    if not paths:
        raise SystemExit(f"no BSDS500 images under {BSDS}")
    return paths


def machine() -> str:
    arch = platform.processor() or platform.machine()
    return f"{arch}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of `repeat` runs, in seconds (best-of limits noise from other processes)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


OPERATOR = Actor.operator("bench")  # benchmarks act as an operator at the CLI would
