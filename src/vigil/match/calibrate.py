"""Calibrate a list: how close do never-seen benign images come to its codes?

The operator supplies a folder of benign images that are not on the list (their own platform's
everyday uploads are the best set: the false matches that matter are with what they scan). Each
image is hashed as a scan hashes it (fast mode, dihedral and normalised variants); the distances
between those query hashes and a sample of the list's codes (region hashes included) give the
lower tail that `tiers.fit_tail` extends. The weak radius is the widest whose estimated per-query
false-match probability stays within the target; the whole list is then searched at it, and it is
narrowed until no calibration image matches. All of it is stored and audited (`list.calibrate`);
matchers pick the new calibration up with the next list generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigil.core import defaults
from vigil.core.actor import Actor
from vigil.core.errors import InvalidInput
from vigil.match.matcher import PDQ
from vigil.match.pdq_index import FlatIndex
from vigil.match.tiers import DEFAULT_TARGET, STRONG_RADIUS, WEAK_CEILING, TailFit, fit_tail
from vigil.media.walk import ItemRef, walk
from vigil.signals.items import hash_item
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.repo import calibrations, generations
from vigil.store.repo import lists as lists_repo

SAMPLE = 20_000  # codes the pair distances are measured against (all of a smaller list)
MIN_PAIRS = 100_000


@dataclass(frozen=True)
class CalibrationResult:
    list_name: str
    images: int
    skipped: int  # files that gave no usable PDQ (not images, flat, unreadable)
    hashes: int
    codes: int
    pairs: int
    fit: TailFit
    target: float
    strong_radius: int
    weak_radius: int
    found: int

    @property
    def hashes_per_image(self) -> float:
        return self.hashes / max(self.images, 1)

    def false_match(self, distance: int, codes: int | None = None) -> float:
        """Estimated per-query chance at `distance`, for this list or for a list of `codes` codes."""
        return self.fit.false_match(distance, codes or self.codes, self.hashes_per_image)


def query_hashes(folder: Path, min_quality: int = defaults.PDQ_MIN_QUALITY) -> tuple[list[np.ndarray], int]:
    """Per usable image under `folder`, its query codes as a scan searches them; and how many
    files gave none."""
    per_image: list[np.ndarray] = []
    skipped = 0
    for ref in walk(folder):
        if not isinstance(ref, ItemRef) or ref.members:
            continue
        signals = hash_item(ref, "fast")
        if not signals.pdq or (signals.pdq_quality or 0) < min_quality:
            skipped += 1
            continue
        hexes = [value for _, value in PDQ.queries(signals, dihedral=True, normalise=True)]
        per_image.append(np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32))
    return per_image, skipped


def pair_histogram(queries: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """How many query-code pairs lie at each Hamming distance (0..256), in blocks of a few MB."""
    q = queries.view(np.uint64).reshape(-1, 4)
    c = np.ascontiguousarray(codes).view(np.uint64).reshape(-1, 4)
    counts = np.zeros(257, dtype=np.int64)
    step = max(1, (1 << 18) // max(len(c), 1))
    for start in range(0, len(q), step):
        block = np.bitwise_count(q[start : start + step, None, :] ^ c[None, :, :]).sum(axis=2)
        counts += np.bincount(block.ravel(), minlength=257)
    return counts


def calibrate(
    store: Store,
    actor: Actor,
    list_name: str,
    folder: Path,
    *,
    target: float = DEFAULT_TARGET,
    strong_radius: int = STRONG_RADIUS,
    ceiling: int = WEAK_CEILING,
    sample: int = SAMPLE,
    seed: int = 0,
) -> CalibrationResult:
    """Measure, derive and store the list's weak radius (see the module docstring)."""
    if not 0 < target < 1:
        raise InvalidInput(f"target must be a probability between 0 and 1, got {target}")
    with store.session() as tx:
        list_id = lists_repo.get(tx, list_name).id
    codes = lists_repo.pdq_codes(store, list_id=list_id).codes
    if len(codes) == 0:
        raise InvalidInput(f"list {list_name!r} has no PDQ hashes to calibrate")
    per_image, skipped = query_hashes(folder)
    if not per_image:
        raise InvalidInput(f"no usable image under {folder} ({skipped} files without a PDQ hash of quality)")
    queries = np.concatenate(per_image)
    rng = np.random.default_rng(seed)
    sampled = codes if len(codes) <= sample else codes[rng.choice(len(codes), sample, replace=False)]
    if len(queries) * len(sampled) < MIN_PAIRS:
        raise InvalidInput(
            f"{len(per_image)} images x {len(sampled)} codes give {len(queries) * len(sampled):,} pairs; "
            f"at least {MIN_PAIRS:,} are needed: give more calibration images"
        )
    fit = fit_tail(pair_histogram(queries, sampled))
    hashes_per_image = len(queries) / len(per_image)
    weak = fit.weak_radius(len(codes), hashes_per_image, target, strong_radius, ceiling)
    nearest = _nearest_within(codes, per_image, weak)  # the whole list, not the sample
    if nearest:
        weak = max(strong_radius, min(weak, min(nearest) - 1))
    found = sum(1 for d in nearest if d <= weak)
    result = CalibrationResult(
        list_name, len(per_image), skipped, len(queries), len(codes), len(queries) * len(sampled), fit,
        target, strong_radius, weak, found,
    )  # fmt: skip
    with store.transaction() as tx:
        calibrations.add(
            tx,
            list_id,
            actor=actor.label,
            images=result.images,
            hashes=result.hashes,
            codes=result.codes,
            sampled=len(sampled),
            pairs=result.pairs,
            closest=fit.closest,
            quantiles=fit.quantiles,
            slope=fit.slope,
            intercept=fit.intercept,
            target=target,
            strong_radius=strong_radius,
            weak_radius=weak,
            found=found,
        )
        audit.record(
            tx,
            actor,
            "list.calibrate",
            list_name,
            {
                "images": result.images,
                "codes": result.codes,
                "weak_radius": weak,
                "found": found,
                "target": target,
            },
        )
        generations.bump(tx)
    return result


def _nearest_within(codes: np.ndarray, per_image: list[np.ndarray], radius: int) -> list[int]:
    """For each calibration image with any query hash within `radius` of a listed code, the
    smallest such distance (exact search of the whole list)."""
    hits = FlatIndex(codes).search(np.concatenate(per_image), radius)
    owners = np.repeat(np.arange(len(per_image)), [len(q) for q in per_image])
    nearest: dict[int, int] = {}
    for i, found in enumerate(hits):
        for _, distance in found:
            owner = int(owners[i])
            nearest[owner] = min(distance, nearest.get(owner, distance))
    return list(nearest.values())
