"""Queries for scans, their items, matches and classifier scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import DataError, IntegrityError

from vigil.core.clock import utcnow
from vigil.core.states import ItemStatus, ScanStatus
from vigil.store.db import Store, Tx
from vigil.store.models import ClassifierScore, Entry, Scan, ScanItem, ScanMatch


def scan(tx: Tx, scan_id: int) -> Scan | None:
    return tx.get(Scan, scan_id)


def latest_unfinished(tx: Tx, root: str) -> Scan | None:
    query = select(Scan).where(Scan.root == root, Scan.status != ScanStatus.DONE).order_by(Scan.id.desc())
    return tx.scalars(query).first()


def recent(tx: Tx, limit: int = 100) -> list[Scan]:
    return list(tx.scalars(select(Scan).order_by(Scan.id.desc()).limit(limit)))


def item_keys(tx: Tx, scan_id: int) -> set[str]:
    return set(tx.scalars(select(ScanItem.ref_key).where(ScanItem.scan_id == scan_id)))


def beat(tx: Tx, scan_id: int) -> None:
    tx.execute(update(Scan).where(Scan.id == scan_id).values(heartbeat_at=utcnow()))


@dataclass
class Row:
    """A scan item with its matches and classifier scores (as column dicts), written together."""

    item: ScanItem
    matches: list[dict[str, Any]]
    scores: list[dict[str, Any]]


def add_rows(store: Store, rows: Sequence[Row]) -> None:
    """One transaction for the batch; if the database refuses it, row by row, and a row it still
    refuses is stored as an error item that says why, so one bad row never loses the others."""
    try:
        with store.transaction() as tx:
            _add(tx, rows)
            beat(tx, rows[0].item.scan_id)
        return
    except (IntegrityError, DataError, ValueError, UnicodeError) as exc:
        batch_error = exc
    for row in rows:
        fresh = _copy(row)
        try:
            with store.transaction() as tx:
                _add(tx, [fresh])
        except (IntegrityError, DataError, ValueError, UnicodeError) as exc:
            reason = f"could not be stored: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            with store.transaction() as tx:
                _add(tx, [_as_error(row, reason)])
    del batch_error


def _add(tx: Tx, rows: Sequence[Row]) -> None:
    tx.add_all(r.item for r in rows)
    tx.flush()
    for row in rows:
        tx.add_all(ClassifierScore(scan_item_id=row.item.id, **s) for s in row.scores)
        tx.add_all(ScanMatch(item_id=row.item.id, **m) for m in row.matches)


_COLUMNS: tuple[str, ...] = ("scan_id", "path", "ref", "ref_key", "status", "size", "media_type", "md5")
_COLUMNS += ("sha1", "sha256", "pdq", "pdq_quality", "frames", "duration", "error")


def _copy(row: Row) -> Row:
    """A fresh, unattached copy (the refused batch's objects belong to a rolled-back session)."""
    item = ScanItem(**{c: getattr(row.item, c) for c in _COLUMNS})
    return Row(item, row.matches, row.scores)


def _as_error(row: Row, reason: str) -> Row:
    key = row.item.ref_key
    label = row.item.path.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    item = ScanItem(
        scan_id=row.item.scan_id, path=label, ref=None, ref_key=key, status=ItemStatus.ERROR, error=reason
    )
    return Row(item, [], [])


def items(tx: Tx, scan_id: int) -> list[ScanItem]:
    return list(tx.scalars(select(ScanItem).where(ScanItem.scan_id == scan_id).order_by(ScanItem.path)))


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
