"""The crawl frontier in the store: every URL seen, queued or done, and which pages show which images.

Writes are batched. A resumed crawl gets back, with the queue, everything a finding needs: the pages
each still-queued image appears on, and the matches of images already fetched, so every (page,
image) pair is recorded whichever run fetches the image or reaches the page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from vigil.core.clock import utcnow
from vigil.core.states import CrawlUrlKind, CrawlUrlStatus, HitStatus
from vigil.store.db import Store
from vigil.store.repo import crawl as repo
from vigil.web import urls


@dataclass(frozen=True)
class Item:
    url: str
    kind: CrawlUrlKind
    depth: int
    referrer: str | None
    tries: int = 0  # times a 429 or 503 sent it back to the queue


class Frontier:
    def __init__(self, store: Store, job_id: int) -> None:
        self.store, self.job_id = store, job_id
        self.seen: set[str] = set()
        self.queued: list[Item] = []
        self.refs: dict[str, set[str]] = defaultdict(set)  # image key -> pages, from earlier runs
        self.page_urls: list[str] = []  # every page URL queued in earlier runs (for budgets)
        with store.session() as session:
            for url_key, url, kind, depth, referrer, status in repo.frontier(session, job_id):
                self.seen.add(url_key)
                if kind == CrawlUrlKind.PAGE and status != CrawlUrlStatus.SKIPPED:
                    self.page_urls.append(url)
                if status == CrawlUrlStatus.QUEUED:
                    self.queued.append(Item(url, CrawlUrlKind(kind), depth, referrer))
            for image_key, page in repo.refs_to_queued_images(session, job_id):
                self.refs[image_key].add(page)
            self.matched = repo.matched_images(session, job_id)  # image URL -> (sha, hit detail)
            self.pages_done = repo.pages_done(session, job_id)
        self._inserts: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._hits: list[dict[str, Any]] = []
        self._refs: list[dict[str, Any]] = []

    def add(self, item: Item) -> bool:
        """True if the URL is new to this crawl (and so should be fetched)."""
        k = urls.key(item.url)
        if k in self.seen:
            return False
        self.seen.add(k)
        self._inserts.append(
            {
                "job_id": self.job_id,
                "url_key": k,
                "url": item.url,
                "kind": item.kind,
                "depth": item.depth,
                "referrer": item.referrer,
                "status": CrawlUrlStatus.QUEUED,
            }
        )
        return True

    def finish(
        self,
        url: str,
        status: CrawlUrlStatus,
        http_status: int | None = None,
        sha256: str | None = None,
        note: str | None = None,
    ) -> None:
        self._updates.append(
            {
                "b_job": self.job_id,
                "b_key": urls.key(url),
                "status": status,
                "http_status": http_status,
                "content_sha256": sha256,
                # a lone surrogate from some decoder would fail the whole batch's write: kept escaped
                "note": note.encode("utf-8", "backslashreplace").decode("utf-8") if note else note,
                "fetched_at": utcnow(),
            }
        )

    def ref(self, image_url: str, page_url: str) -> None:
        """Remember that a page shows an image (kept until the image is fetched, in whatever run)."""
        self._refs.append(
            {
                "job_id": self.job_id,
                "image_key": urls.key(image_url),
                "page_key": urls.key(page_url),
                "page_url": page_url,
            }
        )

    def pages_of(self, image_url: str) -> set[str]:
        """Pages found showing the image in earlier runs."""
        return self.refs.get(urls.key(image_url), set())

    def hit(self, page_url: str, image_url: str, sha256: str, detail: dict[str, Any]) -> None:
        self._hits.append(
            {
                "job_id": self.job_id,
                "page_url": page_url,
                "image_url": image_url,
                "image_sha256": sha256,
                "detail": detail,
                "status": HitStatus.PENDING,
                "created_at": utcnow(),
            }
        )

    @property
    def pending(self) -> int:
        return len(self._inserts) + len(self._updates) + len(self._hits) + len(self._refs)

    def flush(self) -> None:
        if not self.pending:
            return
        repo.flush(self.store, self._inserts, self._updates, self._hits, self._refs)
        self._inserts, self._updates, self._hits, self._refs = [], [], [], []
