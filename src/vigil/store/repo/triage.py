"""Queries for incoming reports and the cases they are linked into."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from vigil.core.states import CaseStatus
from vigil.store.db import Tx
from vigil.store.models import TriageCase, TriageReport
from vigil.store.repo.lists import chunks


def known_report_ids(tx: Tx, ids: Sequence[str]) -> set[str]:
    seen: set[str] = set()
    for chunk in chunks(ids):
        seen |= set(tx.scalars(select(TriageReport.report_id).where(TriageReport.report_id.in_(chunk))))
    return seen


def add_reports(tx: Tx, rows: list[dict[str, Any]]) -> None:
    if rows:
        tx.execute(insert(TriageReport), rows)


def payloads(tx: Tx) -> list[tuple[dict[str, Any], int | None, datetime]]:
    """Every stored report's payload with its case and import time, in import order."""
    query = select(TriageReport.payload, TriageReport.case_id, TriageReport.imported_at).order_by(
        TriageReport.id
    )
    return [(p, c, at) for p, c, at in tx.execute(query)]


def open_case_ids(tx: Tx) -> set[int]:
    return set(tx.scalars(select(TriageCase.id).where(TriageCase.status == CaseStatus.OPEN)))


def cases(tx: Tx) -> dict[int, TriageCase]:
    return {c.id: c for c in tx.scalars(select(TriageCase))}


def report_row_ids(tx: Tx) -> list[int]:
    return list(tx.scalars(select(TriageReport.id).order_by(TriageReport.id)))


def update_reports(tx: Tx, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key (`id` in each dict)."""
    if rows:
        tx.execute(update(TriageReport), rows)
