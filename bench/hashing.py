"""PDQ hashing speed: our fast path vs the reference `pdqhash`, measured in one run.

Prints images/s and the ratio for (a) the hashing stage on the same decoded-from-JPEG RGB arrays,
(b) with the 8 dihedral variants, (c) file bytes to hash including decoding, and the fast path's
mean Hamming distance to exact mode on all 500 BSDS500 images.

`--png DIR`: PNG decoding on every PNG under DIR (e.g. a documentation tree's plots), libspng's
path (`vigil.media.png`) against Pillow's own decoder, one core and two threads, and whether both
give the same pixels.

`--large`: file bytes to hash on 2-12 megapixel JPEGs, which the benchmark builds by enlarging BSDS500
photos (bicubic, JPEG q=90; no large photos ship with the shared data), for the reference (full
decode + `pdqhash`) and for what `vigil scan` computes per image: the fast PDQ, its 8 dihedral
variants and the query-side normalised variants (`vigil.signals.regions`).

    .venv/bin/python bench/hashing.py
    .venv/bin/python bench/hashing.py --large
    .venv/bin/python bench/hashing.py --png /usr/share/doc/python-sklearn-doc/html
"""

from __future__ import annotations

import contextlib
import functools
import io
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pdqhash
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import bsds_images, machine, timed
from vigil.media import png
from vigil.media.decode import CorruptImage, decode, decode_upright
from vigil.signals import pdq

LARGE_SIDES = ((1732, 1155), (2449, 1633), (3464, 2309), (4243, 2828))  # 2, 4, 8 and 12 megapixels


def large() -> None:
    """File -> hash on 2-12 MP JPEGs: reference full decode + pdqhash vs Vigil's scan path."""
    from vigil.signals.compute import compute

    cv2.setNumThreads(1)
    blobs = []
    for i, path in enumerate(bsds_images()[:40]):
        width, height = LARGE_SIDES[i % len(LARGE_SIDES)]
        image = Image.open(path).convert("RGB")
        if image.height > image.width:
            width, height = height, width
        out = io.BytesIO()
        image.resize((width, height), Image.Resampling.BICUBIC).save(out, "JPEG", quality=90)
        blobs.append(out.getvalue())
    n = len(blobs)
    print(f"# file -> PDQ on {n} JPEGs of 2-12 MP (BSDS500 enlarged, q=90), one core, {machine()}")
    ref = timed(
        lambda: [pdqhash.compute(np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))) for b in blobs], 1
    )
    plain = timed(lambda: [pdq.fast(decode(b, "fast")) for b in blobs], 1)
    scan = timed(lambda: [compute("x.jpg", b, "fast") for b in blobs], 1)
    variants = len(compute("x.jpg", blobs[0], "fast").pdq_variants)
    print(f"{'measure':52} {'img/s':>8} {'vs pdqhash':>11}")
    print(f"{'pdqhash, full decode (reference)':52} {n / ref:8.1f} {1.0:10.1f}x")
    print(f"{'vigil fast PDQ + 8 dihedral':52} {n / plain:8.1f} {ref / plain:10.1f}x")
    label = f"vigil scan path: + {variants} normalised variants, MD5/SHA"
    print(f"{label:52} {n / scan:8.1f} {ref / scan:10.1f}x")


def _decode_all(blobs: list[bytes], threads: int) -> None:
    def work(part: list[bytes]) -> None:
        for blob in part:
            with contextlib.suppress(CorruptImage):
                decode_upright(blob, "fast")

    workers = [threading.Thread(target=work, args=(blobs[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def png_decoding(root: Path) -> None:
    """Luma of every PNG under `root` as a crawl's hashing process decodes it: with libspng for
    the plain ones, and with Pillow alone (the reference), measured alternately in one run."""
    cv2.setNumThreads(1)
    blobs = [path.read_bytes() for path in sorted(root.rglob("*.png")) if path.is_file()]
    plain = sum(png.plain_mode(blob) is not None for blob in blobs)
    pillow_only = png.plain_mode
    print(f"# {len(blobs)} PNGs under {root}, {plain} plain (libspng's path); {machine()}")
    print(f"{'threads':8} {'Pillow ms/img':>14} {'libspng path ms/img':>20} {'ratio':>6}")
    for threads in (1, 2):
        times = {}
        for name, check in (("pillow", lambda _: None), ("libspng", pillow_only)) * 2:
            png.plain_mode = check
            best = timed(functools.partial(_decode_all, blobs, threads), 2)
            times[name] = min(times.get(name, best), best)
        png.plain_mode = pillow_only
        pillow_ms, spng_ms = (1000 * times[name] / len(blobs) for name in ("pillow", "libspng"))
        print(f"{threads:<8} {pillow_ms:14.2f} {spng_ms:20.2f} {spng_ms / pillow_ms:6.2f}")
    same = 0
    for blob in blobs:
        png.plain_mode = lambda _: None
        try:
            reference = decode_upright(blob, "fast")
        except CorruptImage:
            continue
        finally:
            png.plain_mode = pillow_only
        ours = decode_upright(blob, "fast")
        same += ours.orientation == reference.orientation and np.array_equal(ours.pixels, reference.pixels)
    print(f"same pixels and orientation as Pillow's: {same} of {len(blobs)}")


HASH_STAGES: dict[str, Callable[[np.ndarray], object]] = {
    "pdqhash": pdqhash.compute,
    "pdqhash dihedral": pdqhash.compute_dihedral,
    "fast": lambda a: pdq.fast(a, dihedral=False),
    "fast dihedral": pdq.fast,
}


def _in_fresh_process(name: str) -> float:
    """Best of 3 for one hash stage, timed in a process of its own. pdqhash's speed depends on
    what its process allocated before: right after `compute_dihedral`, `compute` ran 682 images/s,
    against 479-505 in a process of its own. No stage inherits another's heap this way."""
    command = [sys.executable, __file__, "--stage", name]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def _stage(name: str) -> None:
    cv2.setNumThreads(1)
    arrays = [np.asarray(Image.open(path).convert("RGB")) for path in bsds_images()]
    hash_one = HASH_STAGES[name]
    print(timed(lambda: [hash_one(a) for a in arrays]))


def main() -> None:
    if "--png" in sys.argv:
        png_decoding(Path(sys.argv[sys.argv.index("--png") + 1]))
        return
    if "--large" in sys.argv:
        large()
        return
    if "--stage" in sys.argv:
        _stage(sys.argv[sys.argv.index("--stage") + 1])
        return
    cv2.setNumThreads(1)
    paths = bsds_images()
    blobs = [p.read_bytes() for p in paths]
    arrays = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs]
    n = len(arrays)
    print(
        f"# PDQ hashing, {n} BSDS500 JPEGs ({arrays[0].shape[1]}x{arrays[0].shape[0]}), one core, {machine()}"
    )

    stage = {name: _in_fresh_process(name) for name in HASH_STAGES}
    rows = [
        ("hash stage, same RGB arrays", stage["pdqhash"], stage["fast"]),
        ("hash stage + 8 dihedral variants", stage["pdqhash dihedral"], stage["fast dihedral"]),
    ]
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
