"""HMA-style banks over Vigil's lists: a bank is a `known` list; bank content groups signals.

A content is a bank item (`vigil.store.repo.banks`) with its own id, grouping one or more signals
(say PDQ and video MD5) as HMA does. Every change is audited; the HMA adapter
(`vigil.interfaces.hma`) only translates HMA's requests into these calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vigil.core.actor import Actor
from vigil.core.errors import Conflict, NotFound
from vigil.core.states import ListPurpose
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import BankItem, HashList
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
    """Put signals (Vigil hash type -> value, already validated) on a bank as one new content; its
    id. Adding the same hash again makes another content with its own id and note, as in HMA."""
    with store.transaction() as tx:
        bank_id = _get(tx, bank_name).id
        content_id = repo.add_item(
            tx, bank_id, list(signals.items()), note=note, meta=meta, origin=f"hma:{actor.label}"
        )
        audit.record(tx, actor, "hma.bank_add", bank_name, {"content_id": content_id, "signals": signals})
    return content_id


@dataclass(frozen=True)
class Content:
    id: int
    bank: Bank
    signals: list[tuple[str, str]]  # (Vigil hash type, value)
    disable_until_ts: int
    note: str | None
    meta: dict[str, Any] | None


def content(store: Store, bank_name: str, content_id: int) -> Content:
    """One content of a bank: an item, or a row imported through `vigil lists` (always enabled)."""
    with store.session() as tx:
        found = _get(tx, bank_name)
        here = Bank(found.name, found.matching_enabled_ratio)
        item = repo.item(tx, found.id, content_id)
        if item is not None:
            signals = repo.item_signals(tx, item.id)
            return Content(content_id, here, signals, item.disable_until_ts, item.note, item.meta)
        plain = repo.plain_signal(tx, found.id, content_id)
        if plain is None:
            raise NotFound(f"content '{content_id}' not found")
        return Content(content_id, here, [plain], 1, None, None)


def _item(tx: Tx, bank_name: str, content_id: int) -> tuple[int, BankItem]:
    found = _get(tx, bank_name)
    item = repo.item(tx, found.id, content_id)
    if item is None:
        if repo.plain_signal(tx, found.id, content_id) is not None:
            raise Conflict("content imported through `vigil lists` is changed there, not through HMA")
        raise NotFound(f"content '{content_id}' not found")
    return found.id, item


def update_content(
    store: Store, actor: Actor, bank_name: str, content_id: int, changes: dict[str, Any]
) -> int:
    """Set a content's `disable_until_ts` and/or note (an empty note clears it); the disable time now."""
    with store.transaction() as tx:
        _list_id, item = _item(tx, bank_name, content_id)
        if changes.get("disable_until_ts") is not None:
            item.disable_until_ts = int(changes["disable_until_ts"])
        if "note" in changes:
            item.note = changes["note"] or None
        audit.record(tx, actor, "hma.content_update", f"{bank_name}/{content_id}", changes)
        return item.disable_until_ts


def delete_content(store: Store, actor: Actor, bank_name: str, content_id: int) -> int:
    """Delete one content; its hashes leave the bank unless another content holds them. 1 if there
    was such content, else 0."""
    with store.transaction() as tx:
        found = _get(tx, bank_name)
        deleted = repo.remove_items(tx, found.id, [content_id])
        if deleted:
            audit.record(tx, actor, "hma.content_delete", f"{bank_name}/{content_id}")
    return deleted


def hits(store: Store, entry_ids: list[int]) -> list[repo.Hit]:
    with store.session() as tx:
        return repo.hits(tx, entry_ids)


@dataclass(frozen=True)
class Record:
    """One record from an exchange, found again by its key: its signals and its provenance."""

    key: str
    signals: list[tuple[str, str]]  # (Vigil hash type, value)
    meta: dict[str, Any] | None


def apply_records(
    store: Store,
    actor: Actor,
    bank_name: str,
    upserts: Sequence[Record],
    deletions: Sequence[str],
    *,
    category: str | None,
    origin: str,
) -> tuple[int, int]:
    """An exchange's delta in one transaction: a known key is replaced, a deleted key removed (its
    hashes leave the bank unless another record holds them). (records written, records removed)."""
    with store.transaction() as tx:
        list_id = _get(tx, bank_name).id
        existing = repo.by_key(tx, list_id, [r.key for r in upserts] + list(deletions))
        removed = repo.remove_items(tx, list_id, [existing[k] for k in deletions if k in existing])
        repo.remove_items(tx, list_id, [existing[r.key] for r in upserts if r.key in existing])
        for record in upserts:
            repo.add_item(
                tx,
                list_id,
                record.signals,
                meta=record.meta,
                key=record.key,
                category=category,
                origin=origin,
            )
        audit.record(
            tx,
            actor,
            "list.exchange_fetch",
            bank_name,
            {
                "records": len(upserts),
                "replaced": sum(r.key in existing for r in upserts),
                "removed": removed,
            },
        )
    return len(upserts), removed
