"""Queries behind reviewer wellness: exposure counted from the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from vigil.core.clock import aware
from vigil.store.db import Tx
from vigil.store.models import AuditEvent


def items_viewed(tx: Tx, actor_label: str, since: datetime) -> int:
    """Distinct review items this actor opened since a moment (audit times are ISO strings in UTC)."""
    query = select(func.count(func.distinct(AuditEvent.target))).where(
        AuditEvent.actor == actor_label,
        AuditEvent.action == "review.view",
        AuditEvent.at >= aware(since).isoformat(),
    )
    return int(tx.scalar(query) or 0)


def last_of(tx: Tx, actor_label: str, actions: tuple[str, ...]) -> datetime | None:
    """When this actor last did one of these actions."""
    query = (
        select(AuditEvent.at)
        .where(AuditEvent.actor == actor_label, AuditEvent.action.in_(actions))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    at = tx.scalar(query)
    return datetime.fromisoformat(at) if at else None
