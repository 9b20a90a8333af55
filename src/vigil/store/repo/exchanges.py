"""Queries for configured exchanges and what was shared to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from vigil.core.clock import utcnow
from vigil.store.db import Tx
from vigil.store.models import Exchange, ExchangeCredential, ExchangeShare


def by_name(tx: Tx, name: str) -> Exchange | None:
    return tx.scalar(select(Exchange).where(Exchange.name == name))


def all_exchanges(tx: Tx) -> list[Exchange]:
    return list(tx.scalars(select(Exchange).order_by(Exchange.name)))


def feeding(tx: Tx, list_id: int) -> Exchange | None:
    return tx.scalar(select(Exchange).where(Exchange.list_id == list_id))


def shared_signals(tx: Tx, exchange_id: int) -> set[tuple[str, str]]:
    """Signals the partner confirmed receiving (pending and failed ones are to be sent again)."""
    query = select(ExchangeShare.signal_type, ExchangeShare.value).where(
        ExchangeShare.exchange_id == exchange_id, ExchangeShare.status == "sent"
    )
    return {(t, v) for t, v in tx.execute(query)}


def share_row(tx: Tx, exchange_id: int, signal_type: str, value: str) -> ExchangeShare | None:
    query = select(ExchangeShare).where(
        ExchangeShare.exchange_id == exchange_id,
        ExchangeShare.signal_type == signal_type,
        ExchangeShare.value == value,
    )
    return tx.scalar(query)


def share_counts(tx: Tx) -> dict[int, int]:
    query = (
        select(ExchangeShare.exchange_id, func.count())
        .where(ExchangeShare.status == "sent")
        .group_by(ExchangeShare.exchange_id)
    )
    return dict(tx.execute(query).all())


def claim_fetch(tx: Tx, name: str, now: datetime, stale_before: datetime) -> bool:
    """Take the exchange's fetch lock, in one statement so two processes cannot both win: free, or
    held by a fetch that started before `stale_before` (its process died without letting go)."""
    statement = (
        update(Exchange)
        .where(
            Exchange.name == name,
            or_(Exchange.fetch_started_at.is_(None), Exchange.fetch_started_at < stale_before),
        )
        .values(fetch_started_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(tx.execute(statement).rowcount)  # type: ignore[attr-defined]


def credentials(tx: Tx, api: str) -> ExchangeCredential | None:
    return tx.get(ExchangeCredential, api)


def set_credentials(tx: Tx, api: str, value: dict[str, Any] | None, actor: str) -> None:
    """Store (or with None, forget) the credentials set for one exchange API."""
    found = tx.get(ExchangeCredential, api)
    if value is None:
        if found is not None:
            tx.delete(found)
        return
    if found is None:
        tx.add(ExchangeCredential(api=api, credentials=value, set_by=actor, set_at=utcnow()))
    else:
        found.credentials, found.set_by, found.set_at = value, actor, utcnow()
