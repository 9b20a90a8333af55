"""Queries for crawl jobs, their frontier (URLs) and the hits they found."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, func, select, update

from vigil.core.states import CrawlUrlStatus, HitStatus
from vigil.store.db import Store, Tx
from vigil.store.models import CrawlHit, CrawlJob, CrawlUrl
from vigil.store.repo.lists import insert_ignore

URL_TABLE: Table = CrawlUrl.__table__  # type: ignore[assignment]
HIT_TABLE: Table = CrawlHit.__table__  # type: ignore[assignment]


def job(tx: Tx, job_id: int) -> CrawlJob | None:
    return tx.get(CrawlJob, job_id)


def frontier(tx: Tx, job_id: int) -> list[tuple[str, str, str, int, str | None, CrawlUrlStatus]]:
    """(url key, url, kind, depth, referrer, status) of every URL the job has seen."""
    query = select(
        CrawlUrl.url_key, CrawlUrl.url, CrawlUrl.kind, CrawlUrl.depth, CrawlUrl.referrer, CrawlUrl.status
    ).where(CrawlUrl.job_id == job_id)
    return [tuple(row) for row in tx.execute(query)]  # type: ignore[misc]


def queued_count(tx: Tx, job_id: int) -> int:
    query = (
        select(func.count())
        .select_from(CrawlUrl)
        .where(CrawlUrl.job_id == job_id, CrawlUrl.status == CrawlUrlStatus.QUEUED)
    )
    return int(tx.scalar(query) or 0)


def flush(
    store: Store, inserts: list[dict[str, Any]], updates: list[dict[str, Any]], hits: list[dict[str, Any]]
) -> None:
    """Batched frontier writes: new URLs (ignored when known), finished URLs, new hits."""
    with store.transaction() as tx:
        if inserts:
            tx.execute(insert_ignore(store.dialect, URL_TABLE, ["job_id", "url_key"]), inserts)
        if updates:
            statement = (
                update(URL_TABLE)
                .where(CrawlUrl.job_id == bindparam("b_job"), CrawlUrl.url_key == bindparam("b_key"))
                .values(
                    status=bindparam("status"),
                    http_status=bindparam("http_status"),
                    content_sha256=bindparam("content_sha256"),
                    note=bindparam("note"),
                    fetched_at=bindparam("fetched_at"),
                )
            )
            tx.execute(statement, updates)
        if hits:
            tx.execute(insert_ignore(store.dialect, HIT_TABLE, ["job_id", "page_url", "image_url"]), hits)


def hits(tx: Tx, job_id: int, status: HitStatus | None = None) -> list[CrawlHit]:
    query = select(CrawlHit).where(CrawlHit.job_id == job_id)
    if status is not None:
        query = query.where(CrawlHit.status == status)
    return list(tx.scalars(query.order_by(CrawlHit.id)))
