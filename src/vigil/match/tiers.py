"""Match tiers, and the false-match estimate of a PDQ match, from a list's calibration.

One fixed radius says nothing about how often an unrelated picture comes that close, and that
depends on the list: its size, its region hashes, how alike its pictures are. A calibration
(`vigil.match.calibrate`) measures, for one list, the distances between never-seen benign images'
query hashes and the list's codes, and fits a line to the lower tail (log10 of the share of pairs
within d bits against d). From it:

- the per-query false-match probability at distance d, for a query of h hashes against n codes:
  1 - (1 - p(d))^(n*h), with p(d) from the line (an extrapolation: say so wherever it is shown);
- the weak radius: the largest d up to `WEAK_CEILING` whose estimate stays within the target.

Tiers: `exact` (a cryptographic hash matched: the same bytes), `strong` (PDQ within the fixed
radius that partners use), `weak` (beyond it, within a calibrated list's weak radius). A weak
match only ever puts an item into review, below every strong one; nothing acts on it alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from vigil.core import defaults

QUANTILES = (1e-2, 1e-3, 1e-4, 1e-5)  # the lower tail the line goes through
WEAK_CEILING = 56  # never further: BSDS500 fits put 10M codes at 4e-4..9e-4 per query there
DEFAULT_TARGET = 1e-6  # per query (one scanned image with all its variants)


class Tier(StrEnum):
    EXACT = "exact"
    STRONG = "strong"
    WEAK = "weak"


@dataclass(frozen=True)
class TailFit:
    slope: float
    intercept: float
    quantiles: dict[str, int]
    closest: int

    def pair_share(self, distance: int) -> float:
        """Estimated share of never-seen (query hash, code) pairs within `distance` bits."""
        return float(min(1.0, 10 ** (self.intercept + self.slope * (distance + 0.5))))

    def false_match(self, distance: int, codes: int, hashes: float) -> float:
        """Estimated chance that a never-seen query of `hashes` hashes comes within `distance` of
        any of `codes` codes."""
        share = self.pair_share(distance)
        if share >= 1.0:
            return 1.0
        return float(-np.expm1(codes * hashes * np.log1p(-share)))

    def weak_radius(
        self, codes: int, hashes: float, target: float, strong: int, ceiling: int = WEAK_CEILING
    ) -> int:
        """The largest radius from `strong` up to `ceiling` whose estimate stays within `target`
        (`strong` itself when none does: the list gets no weak tier)."""
        radius = strong
        for distance in range(strong + 1, ceiling + 1):
            if self.false_match(distance, codes, hashes) > target:
                break
            radius = distance
        return radius


def fit_tail(counts: np.ndarray) -> TailFit:
    """The line through the lower quantiles of pair distances, given as a histogram (`counts[d]`
    pairs at distance d, 0..256: a calibration never holds every distance in memory). Needs 1e5
    pairs or more, so that the 1e-5 quantile is a measured distance rather than the closest pair."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total < 1 / QUANTILES[-1]:
        raise ValueError(f"{total} pairs: at least {int(1 / QUANTILES[-1])} are needed to fit the tail")
    cumulative = np.cumsum(counts)
    # the k-th smallest distance (0-based) is the first d with more than k pairs at or below it
    points = np.array(
        [np.searchsorted(cumulative, int(q * total), side="right") for q in QUANTILES], dtype=float
    )
    if np.ptp(points) == 0:
        raise ValueError("the lower quantiles are all at one distance: the calibration set is too uniform")
    slope, intercept = np.polyfit(points, np.log10(np.array(QUANTILES)), 1)
    labels = {f"{q:.0e}": int(p) for q, p in zip(QUANTILES, points, strict=True)}
    return TailFit(float(slope), float(intercept), labels, int(np.flatnonzero(counts)[0]))


def index_radius(strong: int, weak_radii: Iterable[int]) -> int:
    """The radius an index must be exact to: the fixed radius or the widest calibrated weak one."""
    return max([strong, *weak_radii])


@dataclass(frozen=True)
class Calibration:
    """What a match needs from a list's newest calibration."""

    list_name: str
    fit: TailFit
    codes: int
    weak_radius: int
    target: float

    def false_match(self, distance: int, hashes: float) -> float:
        return self.fit.false_match(distance, self.codes, hashes)


STRONG_RADIUS = defaults.PDQ_RADIUS
