"""Generation counters: how a change in one process becomes visible to every other (see models)."""

from __future__ import annotations

from sqlalchemy import update

from vigil.core.clock import utcnow
from vigil.store.db import Tx
from vigil.store.models import Generation

LISTS = "lists"  # bumped by every change to list entries (imports, removals, deleted lists)


def bump(tx: Tx, name: str = LISTS) -> None:
    """Count one more change, in the caller's transaction (committed or rolled back with it). Once
    per transaction is enough for readers to notice, so later bumps in the same one (an exchange
    delta of thousands of records) write nothing."""
    current_tx = tx.get_transaction()
    bumped = tx.info.setdefault("generations_bumped", {})
    if current_tx is not None and bumped.get(name) is current_tx:
        return
    bumped[name] = current_tx
    now = utcnow()
    changed = tx.execute(
        update(Generation).where(Generation.name == name).values(value=Generation.value + 1, changed_at=now)
    )
    if not getattr(changed, "rowcount", 0):
        tx.add(Generation(name=name, value=1, changed_at=now))
        tx.flush()


def current(tx: Tx, name: str = LISTS) -> int:
    """The counter (0 before any change)."""
    row = tx.get(Generation, name)
    return row.value if row else 0
