"""Queries for scans, their items, matches and classifier scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from vigil.core.states import ScanStatus
from vigil.store.db import Tx
from vigil.store.models import ClassifierScore, Entry, Scan, ScanItem, ScanMatch


def scan(tx: Tx, scan_id: int) -> Scan | None:
    return tx.get(Scan, scan_id)


def latest_unfinished(tx: Tx, root: str) -> Scan | None:
    query = select(Scan).where(Scan.root == root, Scan.status != ScanStatus.DONE).order_by(Scan.id.desc())
    return tx.scalars(query).first()


def recent(tx: Tx, limit: int = 100) -> list[Scan]:
    return list(tx.scalars(select(Scan).order_by(Scan.id.desc()).limit(limit)))


def item_paths(tx: Tx, scan_id: int) -> set[str]:
    return set(tx.scalars(select(ScanItem.path).where(ScanItem.scan_id == scan_id)))


def items(tx: Tx, scan_id: int) -> list[ScanItem]:
    return list(tx.scalars(select(ScanItem).where(ScanItem.scan_id == scan_id).order_by(ScanItem.path)))


def add_items(
    tx: Tx,
    rows: Sequence[ScanItem],
    matches: Sequence[list[dict[str, Any]]],
    scores: Sequence[list[dict[str, Any]]],
) -> None:
    """Items with their matches and scores (given per item as column dicts)."""
    tx.add_all(rows)
    tx.flush()
    for row, found, scored in zip(rows, matches, scores, strict=True):
        tx.add_all(ClassifierScore(scan_item_id=row.id, **s) for s in scored)
        tx.add_all(ScanMatch(item_id=row.id, **m) for m in found)


def matches_with_values(tx: Tx, scan_id: int) -> list[tuple[ScanMatch, str]]:
    query = (
        select(ScanMatch, Entry.value)
        .join(ScanItem, ScanItem.id == ScanMatch.item_id)
        .join(Entry, Entry.id == ScanMatch.entry_id)
        .where(ScanItem.scan_id == scan_id)
    )
    return [(m, v) for m, v in tx.execute(query)]


def scan_item(tx: Tx, item_id: int) -> ScanItem | None:
    return tx.get(ScanItem, item_id)
