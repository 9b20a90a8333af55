"""Queries for review-UI sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from vigil.store.db import Tx
from vigil.store.models import ApiKey, UiSession


def live(tx: Tx, id_hash: str) -> tuple[UiSession, ApiKey] | None:
    """The session and its key, if neither has ended (a revoked key ends its sessions)."""
    query = (
        select(UiSession, ApiKey)
        .join(ApiKey, ApiKey.id == UiSession.key_id)
        .where(UiSession.id_hash == id_hash, UiSession.ended_at.is_(None), ApiKey.revoked_at.is_(None))
    )
    row = tx.execute(query).first()
    return (row[0], row[1]) if row else None


def end_for_key(tx: Tx, key_id: int, at: datetime) -> int:
    result = tx.execute(
        update(UiSession).where(UiSession.key_id == key_id, UiSession.ended_at.is_(None)).values(ended_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
