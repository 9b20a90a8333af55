"""Review priority from all signals: a known-hash match outranks any classifier score, and a
classifier score outranks an item with nothing. A weak match (beyond the fixed PDQ radius, within a
calibrated list's weak radius) ranks below every strong one and above any classifier score.
Weights are configurable; demoted models add 0."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vigil.signals.types import hash_type


@dataclass(frozen=True)
class PriorityWeights:
    exact_match: float = 100.0
    perceptual_match: float = 90.0
    weak_confirmed: float = 80.0  # a weak match the known picture's keypoints confirm
    weak_match: float = 70.0
    weak_rejected: float = 60.0  # ... or find no sign of
    classifier: float = 50.0  # times the highest active model score (0..1)
    other: float = 1.0
    model_weights: dict[str, float] = field(default_factory=dict)  # per model id, default 1.0


def match_kinds(matches: Iterable[tuple[str, str | None, dict[str, Any] | None]]) -> set[str]:
    """What `priority` weighs, from (hash type, tier, detail): the tier (`exact`, `strong`, `weak`),
    a weak match with its keypoint verdict (`weak:confirmed`, `weak:rejected`). A match recorded
    before tiers existed has none: its type's way of comparing stands in."""
    out = set()
    for kind, tier, detail in matches:
        named = tier or ("exact" if hash_type(kind).compare == "exact" else "strong")
        verdict = ((detail or {}).get("verified") or {}).get("result")
        out.add(f"{named}:{verdict}" if named == "weak" and verdict in {"confirmed", "rejected"} else named)
    return out


def priority(
    match_kinds: set[str],
    scores: dict[str, dict[str, float]],
    demoted: set[str],
    weights: PriorityWeights | None = None,
) -> float:
    w = weights or PriorityWeights()
    if "exact" in match_kinds:
        return w.exact_match
    if "strong" in match_kinds:
        return w.perceptual_match
    weak = (("weak:confirmed", w.weak_confirmed), ("weak", w.weak_match), ("weak:rejected", w.weak_rejected))
    for kind, weight in weak:
        if kind in match_kinds:
            return weight
    active = [
        w.model_weights.get(model, 1.0) * max(named.values(), default=0.0)
        for model, named in scores.items()
        if model not in demoted
    ]
    best = max(active, default=0.0)
    return min(w.classifier * best, w.perceptual_match - 1) if best > 0 else w.other
