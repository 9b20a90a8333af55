"""PDQ matching speed at list sizes of 1M and 10M: our multi-index hashing vs faiss, in one run.

Two kinds of list. `uniform`: uniformly random 256-bit codes plus clusters of near-duplicates;
queries are list members with 0-40 random bit flips and never-seen random codes. `correlated`: real
PDQ codes, of random crops (50-100% of each side), flips and tone changes of 250 BSDS500 photos,
as many as the size asks; queries are new edits of those photos and edits of the 250 photos not on
the list. Real codes are far from uniform (bits correlate, codes of one photo cluster), which fills
some multi-index buckets much more than others. Recall is measured against `faiss.IndexBinaryFlat`
brute force (radius 31) on a query subset. One thread for all.

    .venv/bin/python bench/matching.py            # 1M and 10M, both kinds (about 3 GB RAM at 10M)
    .venv/bin/python bench/matching.py --sizes 1000000 --data correlated
    .venv/bin/python bench/matching.py --sizes 1000000 --data correlated --radius 31 42   # a weak tier
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine
from vigil.match.pdq_index import FaissMultiHashIndex, FlatIndex, MultiIndexHash


def make_data(size: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    # 1% of the list in clusters of 100 near-duplicates (edits of one image), as real lists have.
    for start in range(0, size // 100, 100):
        base = codes[start]
        noise = rng.random((100, 256)) < 0.03
        codes[start : start + 100] = base ^ np.packbits(noise, axis=1)
    picks = codes[rng.integers(0, size, queries // 2)]
    flips = rng.random((len(picks), 256)) < (rng.integers(0, 41, (len(picks), 1)) / 256)
    near = picks ^ np.packbits(flips, axis=1)
    unseen = rng.integers(0, 256, (queries - len(near), 32), dtype=np.uint8)
    return codes, np.vstack([near, unseen])


def make_correlated(size: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Real PDQ codes of edited BSDS500 photos: crops, flips, gamma (about 0.15 ms each)."""
    from PIL import Image

    from _common import bsds_images
    from vigil.signals import pdq

    rng = np.random.default_rng(seed)
    photos = []
    for path in bsds_images():
        image = Image.open(path).convert("L")
        image.thumbnail((240, 240))
        photos.append(np.asarray(image))
    known, unseen = photos[0::2], photos[1::2]

    def edits(pool: list[np.ndarray], count: int) -> np.ndarray:
        out = np.empty((count, 32), dtype=np.uint8)
        for i in range(count):
            gray = pool[int(rng.integers(len(pool)))]
            h, w = gray.shape
            ch, cw = int(h * rng.uniform(0.5, 1.0)), int(w * rng.uniform(0.5, 1.0))
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            crop = gray[top : top + ch, left : left + cw]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            if rng.random() < 0.5:
                crop = (255 * (crop / 255) ** rng.uniform(0.6, 1.6)).astype(np.uint8)
            out[i] = np.frombuffer(
                bytes.fromhex(pdq.fast_from_gray(np.ascontiguousarray(crop), dihedral=False).hash_hex),
                dtype=np.uint8,
            )
        return out

    codes = edits(known, size)
    return codes, np.vstack([edits(known, queries // 2), edits(unseen, queries - queries // 2)])


def per_query_ms(
    index: object, queries: np.ndarray, radius: int
) -> tuple[float, list[list[tuple[int, int]]]]:
    start = time.perf_counter()
    hits = index.search(queries, radius)  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / len(queries) * 1000, hits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--truth-queries", type=int, default=200)
    parser.add_argument("--data", choices=["uniform", "correlated", "both"], default="both")
    parser.add_argument(
        "--radius",
        type=int,
        nargs="+",
        default=[31],
        help="search radii, each on the same codes; the multi-index hashes are built for each (weak tier)",
    )
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    kinds = ["uniform", "correlated"] if args.data == "both" else [args.data]
    print(f"# PDQ radius {', '.join(map(str, args.radius))} search, one thread, {machine()}")
    print(f"{'entries':>11} {'index':10} {'build s':>8} {'ms/query':>9} {'vs flat':>8} {'recall':>7}  data")
    for size, kind in ((size, kind) for size in args.sizes for kind in kinds):
        maker = make_data if kind == "uniform" else make_correlated
        codes, queries = maker(size, args.queries)
        flat = FlatIndex(codes)
        for radius in args.radius:
            label = f"{kind}" + (f", radius {radius}" if len(args.radius) > 1 else "")
            flat_ms, truth = per_query_ms(flat, queries[: args.truth_queries], radius)
            print(f"{size:>11,} {'flat':10} {0:>8.1f} {flat_ms:>9.3f} {1:>7.1f}x {1:>7.3f}  {label}")
            for name, build in (("faiss-mih", FaissMultiHashIndex), ("vigil-mih", MultiIndexHash)):
                start = time.perf_counter()
                index = build(codes, radius=radius)
                built = time.perf_counter() - start
                ms, hits = per_query_ms(index, queries, radius)
                expected = sum(len(h) for h in truth)
                found = sum(len(set(h) & set(t)) for h, t in zip(hits, truth, strict=False))
                recall = found / expected if expected else 1.0
                exact = all(sorted(h) == sorted(t) for h, t in zip(hits, truth, strict=False))
                speed = f"{built:>8.1f} {ms:>9.3f} {flat_ms / ms:>7.1f}x {recall:>7.3f}"
                warning = "" if exact else "  (differs from brute force!)"
                print(f"{size:>11,} {name:10} {speed}  {label}{warning}")
                del index
            hits_total = sum(len(h) for h in truth)
            print(f"{'':>11} ({hits_total} true hits among the first {args.truth_queries} queries)")


if __name__ == "__main__":
    main()
