"""Queries for list calibrations: write one, read the latest per list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from vigil.store.db import Tx
from vigil.store.models import HashList, ListCalibration


def add(tx: Tx, list_id: int, **facts: Any) -> ListCalibration:
    row = ListCalibration(list_id=list_id, **facts)
    tx.add(row)
    tx.flush()
    return row


def latest(tx: Tx) -> dict[str, ListCalibration]:
    """The newest calibration of each list that has one, by list name."""
    newest = select(func.max(ListCalibration.id)).group_by(ListCalibration.list_id)
    query = (
        select(HashList.name, ListCalibration)
        .join(HashList, HashList.id == ListCalibration.list_id)
        .where(ListCalibration.id.in_(newest))
    )
    return {name: row for name, row in tx.execute(query).all()}
