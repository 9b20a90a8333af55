"""Queries for classifier models: scores on decided items, and which models are demoted."""

from __future__ import annotations

from sqlalchemy import select

from vigil.core.states import ModelState, ReviewStatus
from vigil.store.db import Tx
from vigil.store.models import ClassifierScore, ModelStatus, ReviewItem


def decided_scores(tx: Tx) -> list[tuple[str, float, ReviewStatus]]:
    """(model id, score, decision) for every decided review item a model scored."""
    query = (
        select(ClassifierScore.model_id, ClassifierScore.score, ReviewItem.status)
        .join(ReviewItem, ReviewItem.scan_item_id == ClassifierScore.scan_item_id)
        .where(ReviewItem.status.in_([ReviewStatus.CONFIRMED, ReviewStatus.REJECTED]))
    )
    return [(m, s, st) for m, s, st in tx.execute(query)]


def statuses(tx: Tx) -> dict[str, ModelState]:
    return {s.model_id: s.status for s in tx.scalars(select(ModelStatus))}


def demoted(tx: Tx) -> set[str]:
    return set(tx.scalars(select(ModelStatus.model_id).where(ModelStatus.status == ModelState.DEMOTED)))
