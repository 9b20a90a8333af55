"""Queries for HMA-style banks: known lists whose contents are items with their own ids.

An item (`BankItem`) is one added content: its hashes are shared `entries`, put on the bank's list
as any import would (`entry_sources`), and linked to the item by `bank_item_signals`. A hash leaves
the list when the last item holding it goes. Rows imported through `vigil lists` have no item; their
content id is `PLAIN_CONTENT_BASE` plus the entry id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select

from vigil.core.clock import utcnow
from vigil.core.states import ListPurpose
from vigil.store.db import Tx
from vigil.store.models import (
    PLAIN_CONTENT_BASE,
    BankItem,
    BankItemSignal,
    Entry,
    EntrySource,
    HashList,
)
from vigil.store.repo import generations
from vigil.store.repo.lists import chunks, insert_ignore, lookup_exact

INT4_MAX = 2**31 - 1


@dataclass(frozen=True)
class Hit:
    """One content of one bank holding a matched entry."""

    bank: str
    enabled_ratio: float
    entry_id: int
    content_id: int
    disable_until_ts: int


def bank(tx: Tx, name: str) -> HashList | None:
    query = select(HashList).where(HashList.name == name, HashList.purpose == ListPurpose.KNOWN)
    return tx.scalar(query)


def add_item(
    tx: Tx,
    list_id: int,
    signals: Sequence[tuple[str, str]],
    *,
    note: str | None = None,
    meta: dict[str, Any] | None = None,
    key: str | None = None,
    category: str | None = None,
    origin: str | None = None,
) -> int:
    """A new item with these (hash type, value) signals, each put on the list; the item's id."""
    dialect = tx.get_bind().dialect.name
    now = utcnow()
    pairs = list(dict.fromkeys(signals))
    new_entries = insert_ignore(dialect, Entry.__table__, ["hash_type", "value"])  # type: ignore[arg-type]
    tx.execute(new_entries, [{"hash_type": kind, "value": value} for kind, value in pairs])
    ids = lookup_exact(tx, pairs)
    sources = EntrySource.__table__
    tx.execute(
        insert_ignore(dialect, sources, ["entry_id", "list_id"]),  # type: ignore[arg-type]
        [
            {"entry_id": ids[p], "list_id": list_id, "category": category, "origin": origin, "added_at": now}
            for p in pairs
        ],
    )
    item = BankItem(list_id=list_id, key=key, note=note, meta=meta, disable_until_ts=1, created_at=now)
    tx.add(item)
    tx.flush()
    tx.add_all(BankItemSignal(item_id=item.id, entry_id=ids[p], list_id=list_id) for p in pairs)
    generations.bump(tx)
    return item.id


def by_key(tx: Tx, list_id: int, keys: Iterable[str]) -> dict[str, int]:
    """Item id of each key the list holds."""
    out: dict[str, int] = {}
    for chunk in chunks(sorted(set(keys))):
        query = select(BankItem.key, BankItem.id).where(BankItem.list_id == list_id, BankItem.key.in_(chunk))
        out.update((k, i) for k, i in tx.execute(query) if k is not None)
    return out


def remove_items(tx: Tx, list_id: int, item_ids: Iterable[int]) -> int:
    """Delete items; each of their hashes leaves the list unless another item of it still holds it."""
    ids = sorted(set(item_ids))
    entry_ids: set[int] = set()
    removed = 0
    for chunk in chunks(ids):
        query = select(BankItemSignal.entry_id).where(BankItemSignal.item_id.in_(chunk))
        entry_ids.update(tx.scalars(query))
        tx.execute(delete(BankItemSignal).where(BankItemSignal.item_id.in_(chunk)))
        done = tx.execute(delete(BankItem).where(BankItem.list_id == list_id, BankItem.id.in_(chunk)))
        removed += int(getattr(done, "rowcount", 0) or 0)
    for chunk in chunks(sorted(entry_ids)):
        held = exists().where(
            BankItemSignal.list_id == list_id, BankItemSignal.entry_id == EntrySource.entry_id
        )
        tx.execute(
            delete(EntrySource).where(EntrySource.list_id == list_id, EntrySource.entry_id.in_(chunk), ~held)
        )
    if removed:
        generations.bump(tx)
    return removed


def item(tx: Tx, list_id: int, item_id: int) -> BankItem | None:
    if not 0 < item_id <= INT4_MAX:  # no item has such an id (the column is a 32-bit integer)
        return None
    found = tx.get(BankItem, item_id)
    return found if found is not None and found.list_id == list_id else None


def item_signals(tx: Tx, item_id: int) -> list[tuple[str, str]]:
    query = (
        select(Entry.hash_type, Entry.value)
        .join(BankItemSignal, BankItemSignal.entry_id == Entry.id)
        .where(BankItemSignal.item_id == item_id)
        .order_by(Entry.id)
    )
    return [(kind, value) for kind, value in tx.execute(query)]


def plain_signal(tx: Tx, list_id: int, content_id: int) -> tuple[str, str] | None:
    """The hash behind a content id of an imported row (`PLAIN_CONTENT_BASE` + entry id)."""
    if content_id <= PLAIN_CONTENT_BASE:
        return None
    query = (
        select(Entry.hash_type, Entry.value)
        .join(EntrySource, EntrySource.entry_id == Entry.id)
        .where(EntrySource.list_id == list_id, Entry.id == content_id - PLAIN_CONTENT_BASE)
    )
    row = tx.execute(query).first()
    return (row[0], row[1]) if row else None


def hits(tx: Tx, entry_ids: Iterable[int]) -> list[Hit]:
    """Every content of every known bank that holds one of these entries."""
    out: list[Hit] = []
    for chunk in chunks(sorted(set(entry_ids))):
        query = (
            select(
                HashList.name,
                HashList.matching_enabled_ratio,
                EntrySource.entry_id,
                BankItem.id,
                BankItem.disable_until_ts,
            )
            .join(EntrySource, EntrySource.list_id == HashList.id)
            .outerjoin(
                BankItemSignal,
                (BankItemSignal.list_id == HashList.id) & (BankItemSignal.entry_id == EntrySource.entry_id),
            )
            .outerjoin(BankItem, BankItem.id == BankItemSignal.item_id)
            .where(EntrySource.entry_id.in_(chunk), HashList.purpose == ListPurpose.KNOWN)
            .order_by(HashList.name, BankItem.id)
        )
        for name, ratio, entry_id, item_id, until in tx.execute(query):
            content = item_id if item_id is not None else PLAIN_CONTENT_BASE + entry_id
            out.append(Hit(name, ratio, entry_id, content, until if until is not None else 1))
    return out
