"""PDQ indexes: every index returns exactly what brute force returns, at and around the radius."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.match.pdq_index import INDEXES, FlatIndex, MultiIndexHash, build_index


def _flip(code: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    out = code.copy()
    for bit in rng.choice(256, count, replace=False):
        out[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, (60_000, 32), dtype=np.uint8)
    # Clustered codes (near-duplicates) stress buckets the way real lists do.
    codes[:2000] = np.array([_flip(codes[0], int(rng.integers(0, 12)), rng) for _ in range(2000)])
    queries = [_flip(codes[int(rng.integers(0, len(codes)))], int(d), rng) for d in rng.integers(0, 40, 300)]
    queries += [_flip(codes[0], d, rng) for d in (30, 31, 32, 33)]
    queries += list(rng.integers(0, 256, (50, 32), dtype=np.uint8))
    return codes, np.array(queries, dtype=np.uint8)


@pytest.mark.parametrize("kind", ["mih", "faiss-mih"])
@pytest.mark.parametrize("radius", [0, 10, 31])
def test_index_equals_brute_force(corpus: tuple[np.ndarray, np.ndarray], kind: str, radius: int) -> None:
    codes, queries = corpus
    truth = FlatIndex(codes).search(queries, radius)
    got = INDEXES.get(kind)(codes).search(queries, radius)
    assert [sorted(h) for h in got] == [sorted(h) for h in truth]
    assert sum(len(h) for h in truth) > (len(queries) // 2 if radius == 31 else 0)


def test_distances_are_true_hamming(corpus: tuple[np.ndarray, np.ndarray]) -> None:
    codes, queries = corpus
    for query, hits in zip(queries[:50], MultiIndexHash(codes).search(queries[:50]), strict=True):
        for row, distance in hits:
            assert distance == int(np.unpackbits(codes[row] ^ query).sum()) <= 31


@pytest.mark.parametrize("radius", [0, 10, 31])
def test_the_numpy_flat_index_equals_faiss(corpus: tuple[np.ndarray, np.ndarray], radius: int) -> None:
    """Small lists are searched in NumPy, large ones by FAISS: both exact, so both agree."""
    codes, queries = corpus
    small = codes[:1990]  # the clustered near-duplicates and some others
    numpy_flat, faiss_flat = FlatIndex(small), FlatIndex(small, small_limit=0)
    assert faiss_flat._faiss is not None and numpy_flat._faiss is None
    got, truth = numpy_flat.search(queries, radius), faiss_flat.search(queries, radius)
    assert [sorted(h) for h in got] == [sorted(h) for h in truth]
    assert sum(len(h) for h in truth) > (20 if radius == 31 else 0)


def test_auto_picks_by_size() -> None:
    small = np.zeros((10, 32), dtype=np.uint8)
    assert build_index(small).kind == "flat"
    assert build_index(small, flat_limit=5).kind == "mih"
    # exact beyond radius 31 (a weak tier), brute force serves lists 10x larger
    assert build_index(small, flat_limit=5, radius=42).kind == "flat"
    assert build_index(small, flat_limit=0, radius=42).max_radius == 42
    assert build_index(np.zeros((0, 32), dtype=np.uint8)).search(small) == [[] for _ in range(10)]


def test_bad_shapes_and_radius_are_refused() -> None:
    with pytest.raises(ValueError):
        FlatIndex(np.zeros((3, 31), dtype=np.uint8))
    with pytest.raises(ValueError):
        MultiIndexHash(np.zeros((3, 32), dtype=np.uint8)).search(np.zeros((1, 32), dtype=np.uint8), radius=40)


@pytest.mark.parametrize("bits", [20, 23])  # the chunk widths the index picks at 1M and at 10M entries
def test_multi_index_hash_is_exact_at_the_chunk_sizes_of_large_lists(bits: int) -> None:
    """More codes than one build chunk (2**18), cut as a 1M or 10M list would be, against brute force."""
    rng = np.random.default_rng(bits)
    codes = rng.integers(0, 256, (300_000, 32), dtype=np.uint8)
    near = [
        _flip(codes[int(i)], int(d), rng)
        for i, d in zip(rng.integers(0, 300_000, 60), rng.integers(0, 34, 60), strict=True)
    ]
    queries = np.array(near + list(rng.integers(0, 256, (20, 32), dtype=np.uint8)), dtype=np.uint8)
    index = MultiIndexHash(codes, bits=bits)
    assert index.chunks == 256 // bits and index.flips == 31 // index.chunks
    got = index.search(queries, 31)
    truth = FlatIndex(codes).search(queries, 31)
    assert [sorted(h) for h in got] == [sorted(h) for h in truth]
    assert sum(len(h) for h in truth) >= 50


def test_a_batch_over_the_candidate_cap_is_split_and_stays_exact(
    corpus: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queries into the 2,000 near-duplicates gather far more candidates than the cap allows in
    one batch: the batch is split (down to one query) and returns exactly what brute force does."""
    codes, queries = corpus
    index = MultiIndexHash(codes)
    split: list[int] = []
    original = index._search_batch

    def counted(batch: np.ndarray, radius: int, probes: list[tuple[np.ndarray, np.ndarray]]):  # type: ignore[no-untyped-def]
        split.append(len(batch))
        return original(batch, radius, probes)

    monkeypatch.setattr(index, "_search_batch", counted)
    monkeypatch.setattr(index, "max_candidates", 500)
    got = index.search(queries, 31)
    assert [sorted(h) for h in got] == [sorted(h) for h in FlatIndex(codes).search(queries, 31)]
    assert min(split) == 1 and len(split) > len(queries) // 64 + 1  # split, down to single queries
    assert sum(split) == len(queries)
