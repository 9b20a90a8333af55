"""Review priority from all signals: a known-hash match outranks any classifier score, and a
classifier score outranks an item with nothing. Weights are configurable; demoted models add 0."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PriorityWeights:
    exact_match: float = 100.0
    perceptual_match: float = 90.0
    classifier: float = 50.0  # times the highest active model score (0..1)
    other: float = 1.0
    model_weights: dict[str, float] = field(default_factory=dict)  # per model id, default 1.0


def priority(
    match_kinds: set[str],
    scores: dict[str, dict[str, float]],
    demoted: set[str],
    weights: PriorityWeights | None = None,
) -> float:
    w = weights or PriorityWeights()
    if match_kinds & {"md5", "sha1", "sha256", "exact"}:
        return w.exact_match
    if match_kinds & {"pdq", "vpdq"}:
        return w.perceptual_match
    active = [
        w.model_weights.get(model, 1.0) * max(named.values(), default=0.0)
        for model, named in scores.items()
        if model not in demoted
    ]
    best = max(active, default=0.0)
    return min(w.classifier * best, w.perceptual_match - 1) if best > 0 else w.other
