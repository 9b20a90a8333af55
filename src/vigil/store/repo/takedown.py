"""Queries for takedown notices and the crawl hits they come from."""

from __future__ import annotations

from sqlalchemy import select

from vigil.core.states import HitStatus, NoticeStatus
from vigil.store.db import Tx
from vigil.store.models import CrawlHit, TakedownNotice


def open_for_url(tx: Tx, url: str) -> TakedownNotice | None:
    query = select(TakedownNotice).where(
        TakedownNotice.url == url, TakedownNotice.status == NoticeStatus.OPEN
    )
    return tx.scalar(query)


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
