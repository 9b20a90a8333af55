"""Queries for blocklist entries and RPZ zone serials."""

from __future__ import annotations

from sqlalchemy import select

from vigil.core.states import BlockKind, BlockLevel, BlockStatus
from vigil.store.db import Tx
from vigil.store.models import BlockEntry


def find(tx: Tx, kind: BlockKind, value: str) -> BlockEntry | None:
    return tx.scalar(select(BlockEntry).where(BlockEntry.kind == kind, BlockEntry.value == value))


def approved(tx: Tx, kind: BlockKind | None, level: BlockLevel) -> list[BlockEntry]:
    query = select(BlockEntry).where(BlockEntry.status == BlockStatus.APPROVED, BlockEntry.level == level)
    if kind is not None:
        query = query.where(BlockEntry.kind == kind)
    return list(tx.scalars(query.order_by(BlockEntry.value)))


def all_entries(tx: Tx) -> list[BlockEntry]:
    return list(tx.scalars(select(BlockEntry).order_by(BlockEntry.id)))
