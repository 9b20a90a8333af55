"""Queries for crawl jobs, their frontier (URLs) and the hits they found."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, func, select, update

from vigil.core.states import CrawlUrlKind, CrawlUrlStatus, HitStatus
from vigil.store.db import Store, Tx
from vigil.store.models import CrawlHit, CrawlJob, CrawlRef, CrawlUrl
from vigil.store.repo.lists import insert_ignore

URL_TABLE: Table = CrawlUrl.__table__  # type: ignore[assignment]
HIT_TABLE: Table = CrawlHit.__table__  # type: ignore[assignment]
REF_TABLE: Table = CrawlRef.__table__  # type: ignore[assignment]


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


def pages_done(tx: Tx, job_id: int) -> int:
    """Pages the job has finished in all its runs (what its page budget has spent)."""
    query = (
        select(func.count())
        .select_from(CrawlUrl)
        .where(
            CrawlUrl.job_id == job_id,
            CrawlUrl.kind == CrawlUrlKind.PAGE,
            CrawlUrl.status != CrawlUrlStatus.QUEUED,
        )
    )
    return int(tx.scalar(query) or 0)


def refs_to_queued_images(tx: Tx, job_id: int) -> list[tuple[str, str]]:
    """(image key, page URL) for every image still waiting to be fetched."""
    queued = select(CrawlUrl.url_key).where(
        CrawlUrl.job_id == job_id,
        CrawlUrl.kind == CrawlUrlKind.IMAGE,
        CrawlUrl.status == CrawlUrlStatus.QUEUED,
    )
    query = select(CrawlRef.image_key, CrawlRef.page_url).where(
        CrawlRef.job_id == job_id, CrawlRef.image_key.in_(queued)
    )
    return [(str(k), str(p)) for k, p in tx.execute(query)]


def matched_images(tx: Tx, job_id: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """image URL -> (SHA-256, hit detail) for every image that matched in an earlier run."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    query = select(CrawlHit.image_url, CrawlHit.image_sha256, CrawlHit.detail).where(
        CrawlHit.job_id == job_id
    )
    for url, sha, detail in tx.execute(query):
        out.setdefault(url, (sha, detail))
    return out


def flush(
    store: Store,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    hits: list[dict[str, Any]],
    refs: list[dict[str, Any]] | None = None,
) -> None:
    """Batched frontier writes: new URLs (ignored when known), finished URLs, new hits, page refs."""
    with store.transaction() as tx:
        if refs:
            tx.execute(insert_ignore(store.dialect, REF_TABLE, ["job_id", "image_key", "page_key"]), refs)
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


def hits(tx: Tx, job_id: int, status: HitStatus | None = None, limit: int | None = None) -> list[CrawlHit]:
    query = select(CrawlHit).where(CrawlHit.job_id == job_id)
    if status is not None:
        query = query.where(CrawlHit.status == status)
    return list(tx.scalars(query.order_by(CrawlHit.id).limit(limit)))
