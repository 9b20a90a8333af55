"""Crawl jobs: start one from a policy, run it (resuming from its frontier), report what it found."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy import func, select

from vigil.core.errors import VigilError
from vigil.match.matcher import Matcher
from vigil.sources.crawl.engine import Crawler, CrawlStats
from vigil.sources.crawl.policy import CrawlPolicy
from vigil.store.db import Store
from vigil.store.models import CrawlHit, CrawlJob, CrawlUrl, utcnow


def start_job(store: Store, name: str, policy: CrawlPolicy) -> int:
    if not policy.seeds:
        raise VigilError("no usable seed URL (http or https)")
    with store.session() as session:
        job = CrawlJob(name=name, policy=policy.as_json(), status="running")
        session.add(job)
        session.commit()
        return job.id


def load_policy(store: Store, job_id: int) -> CrawlPolicy:
    with store.session() as session:
        job = session.get(CrawlJob, job_id)
        if job is None:
            raise VigilError(f"no crawl job {job_id}")
        return CrawlPolicy(**job.policy)


def run_job(
    store: Store,
    job_id: int,
    *,
    page_limit: int | None = None,
    workers: int | None = None,
    matcher: Matcher | None = None,
) -> CrawlStats:
    """Fetch until the frontier is empty (or `page_limit` pages this run); safe to call again to resume."""
    policy = load_policy(store, job_id)
    matcher = matcher or Matcher(store)
    processes = workers if workers is not None else max(1, (os.cpu_count() or 2) - 1)
    pool = ProcessPoolExecutor(processes) if processes > 0 else None
    try:
        stats = asyncio.run(Crawler(store, job_id, policy, matcher, pool).run(page_limit))
    finally:
        if pool is not None:
            pool.shutdown()
    with store.session() as session:
        queued = (
            session.scalar(
                select(func.count())
                .select_from(CrawlUrl)
                .where(CrawlUrl.job_id == job_id, CrawlUrl.status == "queued")
            )
            or 0
        )
        job = session.get_one(CrawlJob, job_id)
        job.status = "paused" if queued else "done"
        job.finished_at = None if queued else utcnow()
        session.commit()
    stats.left_queued = int(queued)
    return stats


def hits(store: Store, job_id: int) -> list[dict[str, Any]]:
    with store.session() as session:
        return [
            {
                "id": h.id,
                "page": h.page_url,
                "image": h.image_url,
                "sha256": h.image_sha256,
                "status": h.status,
                **h.detail,
            }
            for h in session.scalars(select(CrawlHit).where(CrawlHit.job_id == job_id).order_by(CrawlHit.id))
        ]
