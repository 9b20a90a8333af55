"""vPDQ hashing speed: our PyAV + vectorised PDQ hasher vs Meta's `vpdq` package, in one run.

Every frame of each sample video is hashed (seconds_per_hash=0), one thread each. `vpdq` is an
optional reference: `pip install vpdq` needs FFmpeg development headers (Debian: libavcodec-dev,
libavformat-dev, libavutil-dev, libswscale-dev, libavdevice-dev, libavfilter-dev, libswresample-dev,
pkg-config, cmake). Without it only our numbers are printed.

    .venv/bin/python bench/video.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA, machine
from vigil.signals import pdq
from vigil.signals.vpdq import hash_video

VIDEOS = DATA / "video-samples" / "tmk-sample-videos"


def main() -> None:
    try:
        import vpdq  # type: ignore[import-not-found]
    except ImportError:
        vpdq = None
    import cv2

    cv2.setNumThreads(1)
    paths = sorted(VIDEOS.glob("*.mp4"))
    print(f"# vPDQ, every frame of {len(paths)} sample videos, {machine()}")
    header = f"{'video':34} {'frames':>6} {'vpdq f/s':>9} {'fast f/s':>9} {'exact f/s':>9}"
    print(f"{header} {'ratio':>6} {'mean d':>7}")
    totals = {"ref": 0.0, "fast": 0.0, "exact": 0.0, "frames": 0}
    for path in paths:
        start = time.perf_counter()
        fast = hash_video(path, seconds_per_hash=0, mode="fast")
        fast_s = time.perf_counter() - start
        start = time.perf_counter()
        hash_video(path, seconds_per_hash=0, mode="exact")
        exact_s = time.perf_counter() - start
        frames = len(fast.frames)
        ref_s, distance = float("nan"), float("nan")
        if vpdq is not None:
            start = time.perf_counter()
            reference = vpdq.computeHash(str(path), seconds_per_hash=0, thread_count=1)
            ref_s = time.perf_counter() - start
            distance = float(
                np.mean([pdq.hamming(a.pdq, b.hex) for a, b in zip(fast.frames, reference, strict=False)])
            )
            totals["ref"] += ref_s
        totals["fast"] += fast_s
        totals["exact"] += exact_s
        totals["frames"] += frames
        print(
            f"{path.stem:34} {frames:>6} {frames / ref_s:>9.0f} {frames / fast_s:>9.0f} "
            f"{frames / exact_s:>9.0f} {ref_s / fast_s:>5.1f}x {distance:>7.2f}"
        )
    n = totals["frames"]
    print(
        f"{'all':34} {n:>6} {n / totals['ref']:>9.0f} {n / totals['fast']:>9.0f} {n / totals['exact']:>9.0f} "
        f"{totals['ref'] / totals['fast']:>5.1f}x"
    )


if __name__ == "__main__":
    main()
