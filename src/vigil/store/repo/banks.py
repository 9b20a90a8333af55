"""Queries for HMA-style banks: known lists with per-content notes, metadata and disable times."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from vigil.core.states import ListPurpose
from vigil.store.db import Tx
from vigil.store.models import BankContent, Entry, EntrySource, HashList


def bank(tx: Tx, name: str) -> HashList | None:
    query = select(HashList).where(HashList.name == name, HashList.purpose == ListPurpose.KNOWN)
    return tx.scalar(query)


def hits(tx: Tx, entry_ids: Iterable[int]) -> list[tuple[str, float, int, BankContent | None]]:
    """(bank, enabled ratio, entry id, content row) for each known bank holding one of these entries."""
    query = (
        select(HashList.name, HashList.matching_enabled_ratio, EntrySource.entry_id, BankContent)
        .join(EntrySource, EntrySource.list_id == HashList.id)
        .outerjoin(
            BankContent,
            (BankContent.list_id == HashList.id) & (BankContent.entry_id == EntrySource.entry_id),
        )
        .where(EntrySource.entry_id.in_(list(entry_ids)), HashList.purpose == ListPurpose.KNOWN)
    )
    return [(b, r, e, c) for b, r, e, c in tx.execute(query)]


def content_rows(tx: Tx, list_id: int, content_id: int) -> list[tuple[Entry, BankContent | None]]:
    """The signals (entries) of one bank content: the content's own entry and those pointing to it."""
    query = (
        select(Entry, BankContent)
        .join(EntrySource, (EntrySource.entry_id == Entry.id) & (EntrySource.list_id == list_id))
        .outerjoin(BankContent, (BankContent.entry_id == Entry.id) & (BankContent.list_id == list_id))
        .where((Entry.id == content_id) | (BankContent.primary_entry_id == content_id))
    )
    return [(e, c) for e, c in tx.execute(query)]
