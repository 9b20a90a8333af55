"""Queries for takedown notices and the crawl hits they come from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from vigil.core.clock import aware
from vigil.core.states import HitStatus, NoticeStatus
from vigil.store.db import Tx
from vigil.store.models import CrawlHit, TakedownNotice


def open_for_url(tx: Tx, url: str) -> TakedownNotice | None:
    query = select(TakedownNotice).where(
        TakedownNotice.url == url, TakedownNotice.status == NoticeStatus.OPEN
    )
    return tx.scalar(query)


def open_by_url(tx: Tx) -> dict[str, list[TakedownNotice]]:
    """Open notices grouped by URL (a URL's site, hosting and hotline notices)."""
    grouped: dict[str, list[TakedownNotice]] = {}
    for notice in open_notices(tx):
        grouped.setdefault(notice.url, []).append(notice)
    return grouped


def first_sent(tx: Tx, url: str) -> datetime | None:
    """When the first notice about a URL went out (removal time and the ladder count from it)."""
    value = tx.scalar(select(func.min(TakedownNotice.first_sent_at)).where(TakedownNotice.url == url))
    return aware(value) if value is not None else None


def notices_for(tx: Tx, url: str) -> list[TakedownNotice]:
    query = select(TakedownNotice).where(TakedownNotice.url == url).order_by(TakedownNotice.id)
    return list(tx.scalars(query))


def candidates_for(tx: Tx, url: str) -> list[TakedownNotice]:
    query = select(TakedownNotice).where(
        TakedownNotice.url == url, TakedownNotice.status == NoticeStatus.CANDIDATE
    )
    return list(tx.scalars(query))


def open_notices(tx: Tx) -> list[TakedownNotice]:
    return list(tx.scalars(select(TakedownNotice).where(TakedownNotice.status == NoticeStatus.OPEN)))


def checkable_notices(tx: Tx) -> list[TakedownNotice]:
    """Notices a re-check looks at: open ones, and removal candidates waiting for a person."""
    query = select(TakedownNotice).where(
        TakedownNotice.status.in_((NoticeStatus.OPEN, NoticeStatus.CANDIDATE))
    )
    return list(tx.scalars(query))


def all_notices(tx: Tx) -> list[TakedownNotice]:
    return list(tx.scalars(select(TakedownNotice).order_by(TakedownNotice.id)))


def queued_hits_for(tx: Tx, sha256: str) -> list[CrawlHit]:
    query = select(CrawlHit).where(CrawlHit.image_sha256 == sha256, CrawlHit.status == HitStatus.QUEUED)
    return list(tx.scalars(query))
