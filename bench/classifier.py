"""Reference classifier plug-in on benign photos: how often would it raise a false alarm?

Runs the NudeNet plug-in (optional extra) over all 500 BSDS500 photos, which contain no nudity,
and prints the score distribution and the benign false-positive rate at the default threshold.

    .venv/bin/python bench/classifier.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import bsds_images, machine
from vigil.intel.classify.base import load


def main() -> None:
    model = load("nudenet")
    paths = bsds_images()
    start = time.perf_counter()
    scores = np.array(
        [model.classify([np.asarray(Image.open(p).convert("RGB"))])[0]["nudity"] for p in paths]
    )
    elapsed = time.perf_counter() - start
    threshold = model.identity.default_threshold
    print(f"# {model.identity.model_id} {model.identity.version} on {len(paths)} BSDS500 photos, {machine()}")
    print(f"images/s {len(paths) / elapsed:.1f}")
    print(
        "score percentiles  " + "  ".join(f"p{p} {np.percentile(scores, p):.3f}" for p in (50, 90, 99, 100))
    )
    for cut in (0.2, 0.35, threshold, 0.7):
        print(
            f"benign false-positive rate at {cut:.2f}: {np.mean(scores >= cut):.4f} "
            f"({int(np.sum(scores >= cut))})"
        )


if __name__ == "__main__":
    main()
