"""Queries for preserved evidence and its custody trail."""

from __future__ import annotations

from sqlalchemy import select

from vigil.store.db import Tx
from vigil.store.models import CustodyEvent, Evidence


def for_item(tx: Tx, review_item_id: int) -> Evidence | None:
    return tx.scalar(select(Evidence).where(Evidence.review_item_id == review_item_id))


def last_custody(tx: Tx, evidence_id: int) -> CustodyEvent | None:
    query = (
        select(CustodyEvent).where(CustodyEvent.evidence_id == evidence_id).order_by(CustodyEvent.id.desc())
    )
    return tx.scalars(query).first()


def custody(tx: Tx, evidence_id: int) -> list[CustodyEvent]:
    query = select(CustodyEvent).where(CustodyEvent.evidence_id == evidence_id).order_by(CustodyEvent.id)
    return list(tx.scalars(query))


def all_evidence(tx: Tx) -> list[Evidence]:
    return list(tx.scalars(select(Evidence).order_by(Evidence.id)))
