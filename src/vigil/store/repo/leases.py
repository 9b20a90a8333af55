"""Queries for review leases: who holds which item until when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from vigil.core.states import ReviewStatus
from vigil.store.db import Tx
from vigil.store.models import ReviewItem, ReviewLease, ReviewVote


def of(tx: Tx, item_id: int, reviewer_id: int) -> ReviewLease | None:
    return tx.scalar(
        select(ReviewLease).where(ReviewLease.item_id == item_id, ReviewLease.reviewer_id == reviewer_id)
    )


def live_others(tx: Tx, item_id: int, reviewer_id: int, now: datetime) -> int:
    """Unexpired leases other reviewers hold on this item."""
    query = select(func.count()).where(
        ReviewLease.item_id == item_id, ReviewLease.reviewer_id != reviewer_id, ReviewLease.expires_at > now
    )
    return int(tx.scalar(query) or 0)


def held(tx: Tx, reviewer_id: int, now: datetime) -> list[ReviewItem]:
    """Open, unvoted items this reviewer holds an unexpired lease on, oldest lease first."""
    voted = select(ReviewVote.item_id).where(ReviewVote.reviewer_id == reviewer_id)
    query = (
        select(ReviewItem)
        .join(ReviewLease, ReviewLease.item_id == ReviewItem.id)
        .where(
            ReviewLease.reviewer_id == reviewer_id,
            ReviewLease.expires_at > now,
            ReviewItem.status.in_((ReviewStatus.PENDING, ReviewStatus.ESCALATED)),
            ReviewItem.linked_to.is_(None),
            ReviewItem.id.not_in(voted),
        )
        .order_by(ReviewLease.leased_at, ReviewItem.id)
    )
    return list(tx.scalars(query))


def release(tx: Tx, item_id: int, reviewer_id: int) -> None:
    tx.execute(
        delete(ReviewLease).where(ReviewLease.item_id == item_id, ReviewLease.reviewer_id == reviewer_id)
    )
