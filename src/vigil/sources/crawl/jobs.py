"""Crawl jobs: start one from a policy, run it (resuming from its frontier), report what it found.

Starting a job and each run's outcome are audited under the actor who ran it.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence
from typing import Any

from vigil.core.actor import Actor
from vigil.core.clock import utcnow
from vigil.core.errors import InvalidInput, NotFound
from vigil.core.states import CrawlJobStatus
from vigil.match.matcher import Matcher
from vigil.signals.worker import default_processes
from vigil.sources.crawl.engine import Crawler, CrawlStats
from vigil.sources.crawl.hashers import Hashers
from vigil.sources.crawl.policy import CrawlPolicy
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import CrawlJob
from vigil.store.repo import crawl as repo


def start_job(store: Store, actor: Actor, name: str, policy: CrawlPolicy) -> int:
    if not policy.seeds:
        raise InvalidInput("no usable seed URL (http or https)")
    with store.transaction() as tx:
        job = CrawlJob(name=name, policy=policy.as_json(), status=CrawlJobStatus.RUNNING)
        tx.add(job)
        tx.flush()
        audit.record(tx, actor, "crawl.start", f"crawl:{job.id}", {"name": name, "seeds": policy.seeds})
        return job.id


def load_policy(store: Store, job_id: int) -> CrawlPolicy:
    with store.session() as session:
        job = repo.job(session, job_id)
        if job is None:
            raise NotFound(f"no crawl job {job_id}")
        return CrawlPolicy(**job.policy)


def run_job(
    store: Store,
    actor: Actor,
    job_id: int,
    *,
    page_limit: int | None = None,
    workers: int | None = None,
    matcher: Matcher | None = None,
    started: Sequence[subprocess.Popen[bytes]] = (),
) -> CrawlStats:
    """Fetch until the frontier is empty (or `page_limit` pages this run); safe to call again to resume.
    `started`: hashing processes the caller spawned early (`vigil.signals.worker.spawn`), used first."""
    policy = load_policy(store, job_id)
    matcher = matcher or Matcher(store)
    processes = workers if workers is not None else max(len(started), default_processes())
    hashers = Hashers(processes, started=started) if processes > 0 else None
    crawler = Crawler(store, job_id, policy, matcher, hashers)
    stats = asyncio.run(crawler.run(page_limit))  # the hashing processes end with the run
    with store.transaction() as tx:
        queued = repo.queued_count(tx, job_id)
        job = tx.get_one(CrawlJob, job_id)
        job.status = CrawlJobStatus.PAUSED if queued else CrawlJobStatus.DONE
        job.finished_at = None if queued else utcnow()
        audit.record(
            tx,
            actor,
            f"crawl.{job.status.value}",
            f"crawl:{job_id}",
            {"pages": stats.pages, "images": stats.images, "hits": stats.hits, "queued": queued},
        )
    stats.left_queued = queued
    return stats


def hits(store: Store, job_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    """The job's hits, first found first (`limit`: only that many)."""
    with store.session() as session:
        return [
            {
                "id": h.id,
                "page": h.page_url,
                "image": h.image_url,
                "sha256": h.image_sha256,
                "status": h.status.value,
                **h.detail,
            }
            for h in repo.hits(session, job_id, limit=limit)
        ]
