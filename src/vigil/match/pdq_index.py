"""Hamming-radius search over 256-bit PDQ codes.

Small lists use exact brute force (NumPy up to 4,096 codes, then faiss `IndexBinaryFlat`). Large
lists use multi-index hashing (Norouzi et al.): the code is cut into `m` chunks of `b` bits; any
code within radius r agrees with the query to within floor(r/m) bits on at least one chunk, so
probing each chunk's table with every flip pattern of that weight finds all true neighbours, which
are then verified exactly. Ours keeps each chunk as a counting-sort table (bucket offsets + row ids)
and probes a whole batch of queries with array operations; `bench/matching.py` measures it against
faiss' own `IndexBinaryMultiHash` and brute force in the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import TYPE_CHECKING, Protocol

import numpy as np

from vigil.core import defaults
from vigil.core.registry import Registry

if TYPE_CHECKING:  # FAISS (13 MiB once imported) loads only for lists that need it
    import faiss

CODE_BYTES = 32
FLAT_LIMIT = 200_000
WIDE_FLAT_FACTOR = 10  # brute force up to 10x as many codes when the index must be exact past radius 31
SMALL_LIMIT = 4096  # up to this many codes brute force runs in NumPy, without loading FAISS
DEFAULT_RADIUS = defaults.PDQ_RADIUS

Hits = list[list[tuple[int, int]]]


class PdqIndex(Protocol):
    """Rows are positions in the code array the index was built from."""

    kind: str

    def __len__(self) -> int: ...

    @property
    def max_radius(self) -> int:
        """The widest radius `search` is exact for."""
        ...

    def search(self, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> Hits: ...


def _as_codes(codes: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(codes, dtype=np.uint8)
    if array.ndim != 2 or array.shape[1] != CODE_BYTES:
        raise ValueError(f"PDQ codes must be an (n, {CODE_BYTES}) uint8 array, got {array.shape}")
    return array


def _split_ranges(lims: np.ndarray, rows: np.ndarray, dists: np.ndarray) -> Hits:
    return [
        list(zip(rows[lims[i] : lims[i + 1]].tolist(), dists[lims[i] : lims[i + 1]].tolist(), strict=True))
        for i in range(len(lims) - 1)
    ]


class _FaissIndex:
    """Shared by the faiss-backed indexes: add codes, count, exclusive-radius range search."""

    kind = "faiss"
    max_radius = CODE_BYTES * 8

    def __init__(self, index: faiss.IndexBinary, codes: np.ndarray) -> None:
        self._index = index
        codes = _as_codes(codes)
        if len(codes):
            self._index.add(codes)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> Hits:
        if radius > self.max_radius:
            raise ValueError(f"index was built for radius <= {self.max_radius}")
        queries = _as_codes(queries)
        if len(self) == 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        lims, dists, rows = self._index.range_search(queries, radius + 1)  # faiss radius is exclusive
        return _split_ranges(lims, rows, dists)


class FlatIndex:
    """Brute force: exact, no build cost, linear query time. FAISS's `IndexBinaryFlat`, or for a
    small list (SMALL_LIMIT codes) the same in NumPy, which spares each process that matches
    against a short list the 13 MiB FAISS takes (the crawler and its hashers, the CLI)."""

    kind = "flat"
    max_radius = CODE_BYTES * 8

    def __init__(
        self, codes: np.ndarray, small_limit: int = SMALL_LIMIT, *, radius: int = DEFAULT_RADIUS
    ) -> None:
        # `radius` is accepted as every index takes it, and ignored: brute force is exact at any radius
        codes = _as_codes(codes)
        self._faiss: _FaissIndex | None = None
        self._words = np.empty((0, 4), dtype=np.uint64)
        if len(codes) > small_limit:
            import faiss

            self._faiss = _FaissIndex(faiss.IndexBinaryFlat(CODE_BYTES * 8), codes)
        else:
            self._words = codes.view(np.uint64).reshape(-1, 4).copy()

    def __len__(self) -> int:
        return len(self._faiss) if self._faiss is not None else len(self._words)

    def search(self, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> Hits:
        if self._faiss is not None:
            return self._faiss.search(queries, radius)
        queries = _as_codes(queries)
        hits: Hits = [[] for _ in range(len(queries))]
        if not len(self._words):
            return hits
        words = queries.view(np.uint64).reshape(-1, 4)
        for start in range(0, len(words), 64):  # 64 queries x 4096 codes x 32 bytes: 8 MB at most
            block = words[start : start + 64]
            dist = np.bitwise_count(block[:, None, :] ^ self._words[None, :, :]).sum(axis=2, dtype=np.int64)
            for offset, row in zip(*np.nonzero(dist <= radius), strict=True):
                hits[start + int(offset)].append((int(row), int(dist[offset, row])))
        return hits


class FaissMultiHashIndex(_FaissIndex):
    """faiss' own multi-index hashing, kept as a comparison point for the benchmark."""

    kind = "faiss-mih"

    def __init__(
        self, codes: np.ndarray, chunks: int = 12, bits: int = 21, radius: int = DEFAULT_RADIUS
    ) -> None:
        import faiss

        index = faiss.IndexBinaryMultiHash(CODE_BYTES * 8, chunks, bits)
        index.nflip = radius // chunks  # pigeonhole: enough flips for exactness up to `radius`
        self.max_radius = radius
        super().__init__(index, codes)


def _chunk_values(codes: np.ndarray, bits: int, chunks: int) -> np.ndarray:
    """(n, chunks) integer keys, chunk j being bits [j*b, (j+1)*b) of the code, big-endian."""
    out = np.empty((len(codes), chunks), dtype=np.int64)
    weights = 1 << np.arange(bits - 1, -1, -1, dtype=np.int64)
    for start in range(0, len(codes), 1 << 18):
        unpacked = np.unpackbits(codes[start : start + (1 << 18)], axis=1)[:, : bits * chunks]
        out[start : start + len(unpacked)] = (
            unpacked.reshape(len(unpacked), chunks, bits).astype(np.int64) @ weights
        )
    return out


def _flip_masks(bits: int, max_flips: int) -> np.ndarray:
    masks = [0]
    for weight in range(1, max_flips + 1):
        masks.extend(sum(1 << i for i in combo) for combo in combinations(range(bits), weight))
    return np.asarray(masks, dtype=np.int64)


class MultiIndexHash:
    """Exact radius search by multi-index hashing with dense bucket tables (see module docstring)."""

    kind = "mih"
    max_candidates = 1 << 21  # rows one batch may gather before it is split (about 50 MB of arrays)

    def __init__(self, codes: np.ndarray, *, bits: int | None = None, radius: int = DEFAULT_RADIUS) -> None:
        codes = _as_codes(codes)
        self.bits = bits or int(np.clip(np.round(np.log2(max(len(codes), 2))), 16, 23))
        self.chunks = (CODE_BYTES * 8) // self.bits
        self.radius = radius
        self.flips = radius // self.chunks
        self._words = codes.view(np.uint64).reshape(-1, 4)
        self._head = np.ascontiguousarray(self._words[:, :2])
        keys = _chunk_values(codes, self.bits, self.chunks)
        self._order: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []
        for j in range(self.chunks):
            column = keys[:, j]
            self._order.append(np.argsort(column, kind="stable").astype(np.int32))
            counts = np.bincount(column, minlength=1 << self.bits)
            self._offsets.append(np.concatenate(([0], np.cumsum(counts))).astype(np.int32))
        self._masks = _flip_masks(self.bits, self.flips)

    def __len__(self) -> int:
        return len(self._words)

    @property
    def max_radius(self) -> int:
        return self.radius

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything the index consists of, for a snapshot on disk."""
        out = {"words": self._words, "meta": np.array([self.bits, self.radius])}
        for j in range(self.chunks):
            out[f"order{j}"], out[f"offsets{j}"] = self._order[j], self._offsets[j]
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> MultiIndexHash:
        """Rebuild from `arrays()` (memory-mapped arrays stay mapped: processes share the pages)."""
        index = cls.__new__(cls)
        index.bits, index.radius = (int(v) for v in arrays["meta"])
        index.chunks = (CODE_BYTES * 8) // index.bits
        index.flips = index.radius // index.chunks
        index._words = arrays["words"]
        index._head = np.ascontiguousarray(index._words[:, :2])
        index._order = [arrays[f"order{j}"] for j in range(index.chunks)]
        index._offsets = [arrays[f"offsets{j}"] for j in range(index.chunks)]
        index._masks = _flip_masks(index.bits, index.flips)
        return index

    def search(self, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> Hits:
        if radius > self.radius:
            raise ValueError(f"index was built for radius <= {self.radius}")
        queries = _as_codes(queries)
        results: Hits = []
        for start in range(0, len(queries), 64):
            results.extend(self._search_capped(queries[start : start + 64], radius))
        return results

    def _probes(self, keys: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per chunk, the bucket start and length of every (query, flip pattern) probe."""
        out = []
        for j in range(self.chunks):
            probes = (keys[:, j, None] ^ self._masks[None, :]).ravel()
            offsets = self._offsets[j]
            starts = offsets[probes].astype(np.int64)
            out.append((starts, offsets[probes + 1].astype(np.int64) - starts))
        return out

    def _search_capped(self, queries: np.ndarray, radius: int) -> Hits:
        """A batch whose probes would gather more than `max_candidates` rows is split in halves:
        on real (correlated) codes a few buckets hold hundreds of near-identical codes, and a batch
        of queries landing in them would otherwise gather tens of millions of candidates at once.
        A single query is searched whatever it gathers (the search stays exact)."""
        keys = _chunk_values(queries, self.bits, self.chunks)
        probes = self._probes(keys)
        gathered = sum(int(lengths.sum()) for _, lengths in probes)
        if gathered > self.max_candidates and len(queries) > 1:
            half = len(queries) // 2
            return self._search_capped(queries[:half], radius) + self._search_capped(queries[half:], radius)
        return self._search_batch(queries, radius, probes)

    def _search_batch(
        self, queries: np.ndarray, radius: int, probes: list[tuple[np.ndarray, np.ndarray]]
    ) -> Hits:
        count = len(queries)
        query_ids: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        for j, (starts, lengths) in enumerate(probes):
            total = int(lengths.sum())
            if total == 0:
                continue
            owner = np.repeat(np.arange(lengths.size) // self._masks.size, lengths)
            first = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
            positions = first + np.arange(total)
            query_ids.append(owner)
            rows.append(self._order[j][positions])
        hits: Hits = [[] for _ in range(count)]
        if not rows:
            return hits
        owner_all = np.concatenate(query_ids)
        row_all = np.concatenate(rows)
        qwords = queries.view(np.uint64).reshape(-1, 4)
        # Half the code already rejects almost every false candidate and halves the memory traffic.
        head = np.bitwise_count(self._head[row_all] ^ qwords[owner_all, :2]).sum(axis=1, dtype=np.int64)
        near = head <= radius
        owner_all, row_all = owner_all[near], row_all[near].astype(np.int64)
        dist = np.bitwise_count(self._words[row_all] ^ qwords[owner_all]).sum(axis=1, dtype=np.int64)
        keep = dist <= radius
        pairs = np.unique(np.stack([owner_all[keep], row_all[keep], dist[keep]], axis=1), axis=0)
        for owner, row, distance in pairs.tolist():
            hits[owner].append((row, distance))
        return hits


INDEXES: Registry[Callable[..., PdqIndex]] = Registry("PDQ index")  # called as (codes, radius=...)
INDEXES.add("flat", FlatIndex)
INDEXES.add("mih", MultiIndexHash)
INDEXES.add("faiss-mih", FaissMultiHashIndex)


def flat_limit_for(radius: int, flat_limit: int = FLAT_LIMIT) -> int:
    """Up to how many codes brute force is the index. Past radius 31 a multi-index hash probes
    many more buckets: on 1M real (correlated) codes at radius 42 it took 1.7 ms a query against
    brute force's 1.3 (bench/matching.py --radius 42), so brute force serves 10x larger lists there."""
    return flat_limit if radius <= DEFAULT_RADIUS else flat_limit * WIDE_FLAT_FACTOR


def build_index(
    codes: np.ndarray, kind: str = "auto", flat_limit: int = FLAT_LIMIT, *, radius: int = DEFAULT_RADIUS
) -> PdqIndex:
    """`auto`: brute force up to `flat_limit` codes (it is exact and fast there), MIH above. The
    index is exact up to `radius` (a calibrated weak radius: a multi-index hash then probes more)."""
    if kind == "auto":
        kind = "flat" if len(codes) <= flat_limit_for(radius, flat_limit) else "mih"
    index: PdqIndex = INDEXES.get(kind)(codes, radius=radius)
    return index
