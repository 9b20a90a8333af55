"""Queries for API keys (only their SHA-256 digests are stored)."""

from __future__ import annotations

from sqlalchemy import select

from vigil.store.db import Tx
from vigil.store.models import ApiKey


def by_digest(tx: Tx, digest: str) -> ApiKey | None:
    return tx.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))


def by_name(tx: Tx, name: str, *, active_only: bool = True) -> ApiKey | None:
    query = select(ApiKey).where(ApiKey.name == name)
    if active_only:
        query = query.where(ApiKey.revoked_at.is_(None))
    return tx.scalar(query)


def all_keys(tx: Tx) -> list[ApiKey]:
    return list(tx.scalars(select(ApiKey).order_by(ApiKey.id)))


def names(tx: Tx, key_ids: list[int]) -> dict[int, str]:
    return dict(tx.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(key_ids))).all())
