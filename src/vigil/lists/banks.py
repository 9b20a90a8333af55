"""HMA-style banks over Vigil's lists: a bank is a `known` list; bank content groups signals.

HMA groups several signals (say PDQ and video MD5) under one content id. Here the content id is the
entry id of its first signal; later signals of the same content point to it. Every change is
audited; the HMA adapter (`vigil.interfaces.hma`) only translates HMA's requests into these calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.core.actor import Actor
from vigil.core.errors import Conflict, NotFound
from vigil.core.states import ListPurpose
from vigil.lists import domain as lists
from vigil.lists.formats.base import ListRow
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import BankContent, HashList
from vigil.store.repo import banks as repo
from vigil.store.repo import exchanges as exchange_repo
from vigil.store.repo import lists as list_repo


@dataclass(frozen=True)
class Bank:
    name: str
    matching_enabled_ratio: float


def _get(tx: Tx, name: str) -> HashList:
    found = repo.bank(tx, name)
    if found is None:
        raise NotFound(f"bank '{name}' not found")
    return found


def banks(store: Store) -> list[Bank]:
    with store.session() as tx:
        return [Bank(b.name, b.matching_enabled_ratio) for b in list_repo.all_lists(tx, ListPurpose.KNOWN)]


def bank(store: Store, name: str) -> Bank:
    with store.session() as tx:
        found = _get(tx, name)
        return Bank(found.name, found.matching_enabled_ratio)


def create_bank(store: Store, actor: Actor, name: str, ratio: float) -> Bank:
    with store.transaction() as tx:
        if list_repo.by_name(tx, name) is not None:
            raise Conflict("Bank already exists")
        tx.add(HashList(name=name, purpose=ListPurpose.KNOWN, source="hma-api", matching_enabled_ratio=ratio))
        audit.record(tx, actor, "hma.bank_create", name, {"enabled_ratio": ratio})
    return Bank(name, ratio)


def update_bank(store: Store, actor: Actor, name: str, new_name: str | None, ratio: float | None) -> Bank:
    with store.transaction() as tx:
        found = _get(tx, name)
        if new_name is not None:
            found.name = new_name
        if ratio is not None:
            found.matching_enabled_ratio = ratio
        audit.record(tx, actor, "hma.bank_update", name, {"name": new_name, "enabled_ratio": ratio})
        return Bank(found.name, found.matching_enabled_ratio)


def delete_bank(store: Store, actor: Actor, name: str) -> bool:
    with store.transaction() as tx:
        found = repo.bank(tx, name)
        if found is None:
            return False
        if exchange_repo.feeding(tx, found.id) is not None:
            raise Conflict("bank is fed by an exchange; remove the exchange first")
        list_repo.delete_list(tx, found)
        audit.record(tx, actor, "hma.bank_delete", name)
    return True


def add_content(
    store: Store,
    actor: Actor,
    bank_name: str,
    signals: dict[str, str],
    note: str | None,
    meta: dict[str, Any] | None,
) -> int:
    """Put signals (Vigil hash type -> value, already validated) on a bank as one content; its id."""
    with store.session() as tx:
        bank_id = _get(tx, bank_name).id
    rows = [ListRow(kind, value, None, f"hma:{actor.label}") for kind, value in signals.items()]
    lists.import_rows(store, actor, bank_name, rows, how="hma_add")
    with store.transaction() as tx:
        ids = [list_repo.entry_id(tx, kind, value) for kind, value in signals.items()]
        primary = ids[0]
        assert primary is not None
        for entry_id in ids:
            assert entry_id is not None
            row = tx.get(BankContent, (bank_id, entry_id)) or BankContent(list_id=bank_id, entry_id=entry_id)
            row.primary_entry_id = None if entry_id == primary else primary
            row.note, row.meta, row.disable_until_ts = note, meta, 1
            tx.merge(row)
        audit.record(tx, actor, "hma.bank_add", bank_name, {"content_id": primary, "signals": signals})
    return primary


@dataclass(frozen=True)
class Content:
    id: int
    bank: Bank
    signals: list[tuple[str, str]]  # (Vigil hash type, value)
    disable_until_ts: int
    note: str | None
    meta: dict[str, Any] | None


def content(store: Store, bank_name: str, content_id: int) -> Content:
    with store.session() as tx:
        found = _get(tx, bank_name)
        rows = repo.content_rows(tx, found.id, content_id)
        if not rows:
            raise NotFound(f"content '{content_id}' not found")
        head = next((c for e, c in rows if e.id == content_id), None)
        return Content(
            content_id,
            Bank(found.name, found.matching_enabled_ratio),
            [(e.hash_type, e.value) for e, _ in rows],
            head.disable_until_ts if head else 1,
            head.note if head else None,
            head.meta if head else None,
        )


def update_content(
    store: Store, actor: Actor, bank_name: str, content_id: int, changes: dict[str, Any]
) -> None:
    """Apply `disable_until_ts` to every signal of the content and `note` to its head."""
    with store.transaction() as tx:
        found = _get(tx, bank_name)
        rows = repo.content_rows(tx, found.id, content_id)
        if not rows:
            raise NotFound(f"content '{content_id}' not found")
        until = changes.get("disable_until_ts")
        for entry, row in rows:
            row = row or BankContent(
                list_id=found.id,
                entry_id=entry.id,
                primary_entry_id=None if entry.id == content_id else content_id,
            )
            if until is not None:
                row.disable_until_ts = until
            if "note" in changes and entry.id == content_id:
                row.note = changes["note"] or None
            tx.merge(row)
        audit.record(tx, actor, "hma.content_update", f"{bank_name}/{content_id}", changes)


def delete_content(store: Store, actor: Actor, bank_name: str, content_id: int) -> int:
    """Take a content's signals off the bank; 1 if there was such content, else 0."""
    with store.transaction() as tx:
        found = _get(tx, bank_name)
        rows = repo.content_rows(tx, found.id, content_id)
        list_repo.remove_entries(tx, found.id, [e.id for e, _ in rows])
        for _entry, row in rows:
            if row is not None:
                tx.delete(row)
        audit.record(tx, actor, "hma.content_delete", f"{bank_name}/{content_id}")
    return 1 if rows else 0


def hits(store: Store, entry_ids: list[int]) -> list[tuple[str, float, int, BankContent | None]]:
    with store.session() as tx:
        return repo.hits(tx, entry_ids)
