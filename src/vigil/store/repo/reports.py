"""Queries for clearinghouse report submissions."""

from __future__ import annotations

from sqlalchemy import select

from vigil.store.db import Tx
from vigil.store.models import Submission


def submission(tx: Tx, report_id: int) -> Submission | None:
    return tx.get(Submission, report_id)


def for_item(tx: Tx, review_item_id: int) -> list[Submission]:
    query = select(Submission).where(Submission.review_item_id == review_item_id).order_by(Submission.id)
    return list(tx.scalars(query))
