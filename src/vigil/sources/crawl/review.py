"""Crawl hits into the review queue, so N-of-M human agreement precedes any takedown notice.

The crawler keeps no image bytes. Queuing fetches each matched image again, checks that its SHA-256 is
still the one that matched, and quarantines it encrypted in the evidence vault for the reviewers'
(blurred) preview. One review item per distinct image, listing every page that shows it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from vigil.core.actor import Actor
from vigil.core.errors import ItemError
from vigil.core.states import HitStatus, ReviewSource
from vigil.intel.classify.priority import match_kinds, priority
from vigil.review import domain as review
from vigil.review.evidence import Vault
from vigil.sources.crawl.jobs import load_policy
from vigil.store.db import Store
from vigil.store.models import CrawlHit
from vigil.store.repo import crawl as repo
from vigil.web.fetch import get_sync


@dataclass
class Queued:
    items: list[int] = field(default_factory=list)
    problems: list[ItemError] = field(default_factory=list)


def queue_hits(
    store: Store,
    job_id: int,
    vault: Vault,
    actor: Actor,
    required_votes: int = review.DEFAULT_REQUIRED_VOTES,
) -> Queued:
    policy = load_policy(store, job_id)
    out = Queued()
    with store.session() as session:
        pending = repo.hits(session, job_id, HitStatus.PENDING)
    by_image: dict[tuple[str, str], list[CrawlHit]] = defaultdict(list)
    for hit in pending:
        by_image[(hit.image_url, hit.image_sha256)].append(hit)
    for (image, sha), hits in by_image.items():
        try:
            data = get_sync(image, policy.resolve, addresses=policy.addresses()).body
        except Exception as exc:  # removed or unreachable since the crawl: nothing to review
            out.problems.append(ItemError(image, f"could not fetch again: {type(exc).__name__}"))
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            out.problems.append(ItemError(image, "content changed since the crawl; crawl again"))
            continue
        vault.quarantine(data)
        matches = hits[0].detail.get("matches", [])
        item_id = review.submit_item(
            store,
            actor,
            sha256=sha,
            md5=hashlib.md5(data).hexdigest(),
            path=None,
            media_type="image",
            reason={
                "matches": [
                    [m["hash_type"], m["distance"], None, m.get("variant"), m.get("tier")] for m in matches
                ],
                "name": image,
                "lists": sorted({x["list"] for m in matches for x in m.get("lists", [])}),
            },
            context={
                "image_url": image,
                "pages": sorted({h.page_url for h in hits}),
                "crawl_job": job_id,
                "keywords": sorted({k for h in hits for k in h.detail.get("keywords", [])}),
            },
            priority=priority(
                match_kinds((m["hash_type"], m.get("tier"), m.get("detail")) for m in matches), {}, set()
            ),
            required_votes=required_votes,
            source=ReviewSource.CRAWL,
        )
        with store.transaction() as tx:
            for hit in hits:
                stored = tx.get_one(CrawlHit, hit.id)
                stored.status = HitStatus.QUEUED
                stored.detail = {**stored.detail, "review_item": item_id}
        out.items.append(item_id)
    return out
