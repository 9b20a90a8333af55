"""PDQ hashing speed: our fast path vs the reference `pdqhash`, measured in one run.

Prints images/s and the ratio for (a) the hashing stage on the same decoded-from-JPEG RGB arrays,
(b) with the 8 dihedral variants, (c) file bytes to hash including decoding, and the fast path's
mean Hamming distance to exact mode on all 500 BSDS500 images.

    .venv/bin/python bench/hashing.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np
import pdqhash
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import bsds_images, machine, timed
from vigil.media.decode import decode
from vigil.signals import pdq


def main() -> None:
    cv2.setNumThreads(1)
    paths = bsds_images()
    blobs = [p.read_bytes() for p in paths]
    arrays = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs]
    n = len(arrays)
    print(
        f"# PDQ hashing, {n} BSDS500 JPEGs ({arrays[0].shape[1]}x{arrays[0].shape[0]}), one core, {machine()}"
    )

    rows = []
    ref = timed(lambda: [pdqhash.compute(a) for a in arrays])
    ours = timed(lambda: [pdq.fast(a, dihedral=False) for a in arrays])
    rows.append(("hash stage, same RGB arrays", ref, ours))
    ref_d = timed(lambda: [pdqhash.compute_dihedral(a) for a in arrays])
    ours_d = timed(lambda: [pdq.fast(a) for a in arrays])
    rows.append(("hash stage + 8 dihedral variants", ref_d, ours_d))
    ref_e = timed(
        lambda: [pdqhash.compute(np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))) for b in blobs], 2
    )
    ours_e = timed(lambda: [pdq.fast(decode(b, "fast"), dihedral=False) for b in blobs], 2)
    rows.append(("file bytes -> hash (decode included)", ref_e, ours_e))

    print(f"{'measure':40} {'pdqhash img/s':>14} {'vigil fast img/s':>17} {'ratio':>7}")
    for name, ref_s, ours_s in rows:
        print(f"{name:40} {n / ref_s:14,.0f} {n / ours_s:17,.0f} {ref_s / ours_s:6.1f}x")

    distances, quality = [], []
    for blob in blobs:
        exact = pdq.exact(decode(blob, "exact"), dihedral=False)
        fast = pdq.fast(decode(blob, "fast"), dihedral=False)
        distances.append(pdq.hamming(exact.hash_hex, fast.hash_hex))
        quality.append(abs(exact.quality - fast.quality))
    d = np.asarray(distances)
    print(
        f"fast vs exact on {n} images: mean distance {d.mean():.2f} bits, median {np.median(d):.0f}, "
        f"max {d.max()}, share identical {np.mean(d == 0):.2f}, max quality gap {max(quality)}"
    )


if __name__ == "__main__":
    main()
