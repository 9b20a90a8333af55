"""Review priority from all signals: a known-hash match outranks any classifier score, and a
classifier score outranks an item with nothing. A weak match (beyond the fixed PDQ radius, within a
calibrated list's weak radius) ranks below every strong one and above any classifier score.
Weights are configurable; demoted models add 0."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vigil.signals.types import hash_type


@dataclass(frozen=True)
class PriorityWeights:
    exact_match: float = 100.0
    perceptual_match: float = 90.0
    weak_match: float = 70.0
    classifier: float = 50.0  # times the highest active model score (0..1)
    other: float = 1.0
    model_weights: dict[str, float] = field(default_factory=dict)  # per model id, default 1.0


def match_kinds(matches: Iterable[tuple[str, str | None]]) -> set[str]:
    """What `priority` weighs: the tiers (`exact`, `strong`, `weak`) of (hash type, tier) pairs.
    A match recorded before tiers existed has none: its type's way of comparing stands in."""
    return {tier or ("exact" if hash_type(kind).compare == "exact" else "strong") for kind, tier in matches}


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
    if "weak" in match_kinds:
        return w.weak_match
    active = [
        w.model_weights.get(model, 1.0) * max(named.values(), default=0.0)
        for model, named in scores.items()
        if model not in demoted
    ]
    best = max(active, default=0.0)
    return min(w.classifier * best, w.perceptual_match - 1) if best > 0 else w.other
