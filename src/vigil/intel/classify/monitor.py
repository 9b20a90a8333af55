"""Watching models against human decisions: precision per score band, false-positive rate, demotion.

Among decided review items that a model scored, a decision to confirm counts as a true positive for
the model's score band and a rejection as a false positive. A model whose precision at or above its
threshold falls below the floor (with enough decisions to tell) is demoted: its scores stop raising
priority, and the demotion is written to the audit log.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from vigil.core.actor import Actor
from vigil.core.clock import utcnow
from vigil.core.states import ModelState, ReviewStatus
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ModelStatus
from vigil.store.repo import models as repo

BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0001)


@dataclass(frozen=True)
class MonitorPolicy:
    threshold: float = 0.5
    precision_floor: float = 0.2
    min_decisions: int = 20


def report(store: Store, policy: MonitorPolicy | None = None) -> dict[str, dict[str, Any]]:
    policy = policy or MonitorPolicy()
    with store.session() as session:
        rows = repo.decided_scores(session)
        statuses = repo.statuses(session)
    per_model: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for model_id, score, status in rows:
        per_model[model_id].append((score, status == ReviewStatus.CONFIRMED))
    out: dict[str, dict[str, Any]] = {}
    for model_id, decided in sorted(per_model.items()):
        bands = []
        for low, high in pairwise(BANDS):
            inside = [ok for score, ok in decided if low <= score < high]
            bands.append(
                {
                    "band": f"{low:.1f}-{min(high, 1.0):.1f}",
                    "decided": len(inside),
                    "precision": round(sum(inside) / len(inside), 3) if inside else None,
                }
            )
        flagged = [ok for score, ok in decided if score >= policy.threshold]
        precision = sum(flagged) / len(flagged) if flagged else None
        out[model_id] = {
            "status": statuses.get(model_id, ModelState.ACTIVE).value,
            "decided": len(decided),
            "flagged": len(flagged),
            "precision_at_threshold": None if precision is None else round(precision, 3),
            "false_positive_rate": None if precision is None else round(1 - precision, 3),
            "bands": bands,
        }
    return out


def enforce(store: Store, actor: Actor, policy: MonitorPolicy | None = None) -> list[str]:
    """Demote models below the precision floor; returns the ids demoted now."""
    policy = policy or MonitorPolicy()
    demoted = []
    for model_id, stats in report(store, policy).items():
        precision = stats["precision_at_threshold"]
        if (
            stats["status"] == ModelState.DEMOTED
            or precision is None
            or stats["flagged"] < policy.min_decisions
        ):
            continue
        if precision < policy.precision_floor:
            floor, flagged = policy.precision_floor, stats["flagged"]
            reason = f"precision {precision:.3f} < floor {floor} over {flagged} decisions"
            with store.transaction() as tx:
                status = tx.get(ModelStatus, model_id) or ModelStatus(model_id=model_id)
                status.status, status.reason, status.changed_at = ModelState.DEMOTED, reason, utcnow()
                tx.merge(status)
                audit.record(tx, actor, "model.demote", model_id, {"reason": reason})
            demoted.append(model_id)
    return demoted


def demoted_models(store: Store) -> set[str]:
    with store.session() as session:
        return repo.demoted(session)
