"""The crawl loop: async httpx workers over a store-backed frontier, images hashed off the event loop.

Pages in scope are fetched (robots.txt obeyed unless switched off, per-host concurrency and delay),
their links followed to `max_depth`, their images fetched once per URL and once per content, hashed by
the core (`signals.compute`) in worker processes, and matched by the scan matcher. A match on a page is a
`crawl_hits` row for human review. Page text can also be checked against a reviewed term list, a second
signal recorded with the hit. Results are committed in batches; an interrupted crawl resumes from the
store's frontier without fetching done URLs again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import urllib.robotparser
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from vigil.actions.blocking import search
from vigil.core.states import CrawlUrlKind, CrawlUrlStatus
from vigil.match.matcher import Matcher
from vigil.signals.compute import FileSignals, compute
from vigil.sources.crawl.frontier import Frontier, Item
from vigil.sources.crawl.policy import CrawlPolicy
from vigil.store.db import Store
from vigil.web import urls
from vigil.web.fetch import Unreachable, get
from vigil.web.parse import parse

HTML_TYPES = ("text/html", "application/xhtml")
FLUSH_EVERY = 200


@dataclass
class CrawlStats:
    pages: int = 0
    images: int = 0
    errors: int = 0
    skipped_robots: int = 0
    skipped_scope: int = 0
    duplicate_content: int = 0
    hits: int = 0
    bytes: int = 0
    seconds: float = 0.0
    left_queued: int = 0
    found: set[str] = field(default_factory=set)  # image URLs that matched

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def hash_image(name: str, data: bytes) -> FileSignals:
    return compute(name, data, "fast")


class Crawler:
    def __init__(
        self,
        store: Store,
        job_id: int,
        policy: CrawlPolicy,
        matcher: Matcher,
        pool: ProcessPoolExecutor | None = None,
    ) -> None:
        self.store, self.job_id, self.policy, self.matcher = store, job_id, policy, matcher
        self.frontier = Frontier(store, job_id)
        self.pool = pool
        self.stats = CrawlStats()
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.host_slots: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(policy.per_host)
        )
        self.host_next: dict[str, float] = defaultdict(float)
        self.robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self.robots_lock: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.content_seen: set[str] = set()
        self.image_result: dict[str, tuple[str, list[dict[str, Any]]] | None] = {}  # url -> (sha, matches)
        self.image_refs: dict[str, set[str]] = defaultdict(set)  # image url -> pages showing it
        self.page_keywords: dict[str, list[str]] = {}
        self.terms = search.TermList.from_lines(policy.keywords) if policy.keywords else None
        self.page_budget = 0
        self.out_of_scope: set[str] = set()
        self.clients: dict[str, httpx.AsyncClient] = {}

    def client_for(self, url: str) -> httpx.AsyncClient:
        """One small connection pool per host: httpcore's pool bookkeeping grows with its size."""
        origin = urls.origin(url)
        client = self.clients.get(origin)
        if client is None:
            per_host = self.policy.per_host
            client = self.clients[origin] = httpx.AsyncClient(
                timeout=20.0,
                follow_redirects=False,
                headers={"User-Agent": self.policy.user_agent},
                limits=httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host),
            )
        return client

    # ------------------------------------------------------------------ politeness and robots
    async def _slot(self, host: str) -> None:
        if self.policy.delay <= 0:
            return
        wait = self.host_next[host] - time.monotonic()
        self.host_next[host] = max(self.host_next[host], time.monotonic()) + self.policy.delay
        if wait > 0:
            await asyncio.sleep(wait)

    async def _allowed(self, url: str) -> bool:
        if not self.policy.obey_robots:
            return True
        origin = urls.origin(url)
        async with self.robots_lock[origin]:
            if origin not in self.robots:
                parser: urllib.robotparser.RobotFileParser | None = None
                rules = urllib.robotparser.RobotFileParser()
                try:
                    got = await get(
                        self.client_for(origin + "/"),
                        origin + "/robots.txt",
                        self.policy.resolve,
                        self.policy.resolve_only,
                        1024 * 1024,
                    )
                    if got.status < 400:
                        rules.parse(got.body.decode("utf-8", "replace").splitlines())
                        parser = rules
                    elif got.status < 500:  # no robots.txt: everything allowed
                        rules.parse([])
                        parser = rules
                    # RFC 9309: a server error means assume everything is disallowed (parser stays None)
                except (httpx.HTTPError, Unreachable):
                    parser = None
                self.robots[origin] = parser
        known = self.robots[origin]
        return known is not None and known.can_fetch(self.policy.user_agent, url)

    # ------------------------------------------------------------------ work items
    def _enqueue(self, item: Item) -> None:
        if self.frontier.add(item):
            self.queue.put_nowait(item)

    async def _page(self, item: Item) -> None:
        if not self.policy.in_scope(item.url):
            self.page_budget -= 1  # skipped pages do not use up the run's page budget
            self.stats.skipped_scope += 1
            self.frontier.finish(item.url, CrawlUrlStatus.SKIPPED, note="out of scope")
            return
        if not await self._allowed(item.url):
            self.page_budget -= 1
            self.stats.skipped_robots += 1
            self.frontier.finish(item.url, CrawlUrlStatus.SKIPPED, note="robots.txt")
            return
        host = urls.host(item.url)
        async with self.host_slots[host]:
            await self._slot(host)
            got = await get(
                self.client_for(item.url), item.url, self.policy.resolve, self.policy.resolve_only
            )
        self.stats.pages += 1
        self.stats.bytes += len(got.body)
        sha = hashlib.sha256(got.body).hexdigest()
        if got.status != 200 or not got.content_type.startswith(HTML_TYPES):
            self.frontier.finish(item.url, CrawlUrlStatus.DONE, got.status, sha, None)
            return
        if sha in self.content_seen:  # mirrored or duplicated page: its links are already queued
            self.stats.duplicate_content += 1
            self.frontier.finish(item.url, CrawlUrlStatus.DONE, got.status, sha, "duplicate content")
            return
        self.content_seen.add(sha)
        page = parse(got.body.decode("utf-8", "replace"), want_text=self.terms is not None)
        note = None
        if self.terms is not None:
            matched = search.check(page.text, self.terms).matched
            if matched:
                self.page_keywords[item.url] = list(matched)
                note = "keywords: " + ",".join(matched)
        self.frontier.finish(item.url, CrawlUrlStatus.DONE, got.status, sha, note)
        for src in page.images:
            image = urls.normalise(src, item.url)
            if image is None or not self.policy.image_allowed(image) or not self.policy.reachable(image):
                continue
            self.image_refs[image].add(item.url)
            known = self.image_result.get(image)
            if known is not None:
                self._record_hits(image, known[0], known[1], {item.url})
            self._enqueue(Item(image, CrawlUrlKind.IMAGE, item.depth, item.url))
        if item.depth >= self.policy.max_depth:
            return
        for href in page.links:
            link = urls.normalise(href, item.url)
            if link is None:
                continue
            if self.policy.in_scope(link) and self.policy.reachable(link):
                self._enqueue(Item(link, CrawlUrlKind.PAGE, item.depth + 1, item.url))
            else:
                self.out_of_scope.add(link)

    async def _image(self, item: Item) -> None:
        host = urls.host(item.url)
        async with self.host_slots[host]:
            await self._slot(host)
            got = await get(
                self.client_for(item.url),
                item.url,
                self.policy.resolve,
                self.policy.resolve_only,
                self.policy.max_image_bytes,
            )
        self.stats.images += 1
        self.stats.bytes += len(got.body)
        if got.status != 200:
            self.frontier.finish(item.url, CrawlUrlStatus.ERROR, got.status, None, f"HTTP {got.status}")
            return
        name = item.url.rsplit("/", 1)[-1] or "image"
        if self.pool is not None:
            signals = await asyncio.get_running_loop().run_in_executor(self.pool, hash_image, name, got.body)
        else:
            signals = hash_image(name, got.body)
        matches = [
            {
                "hash_type": m.hash_type,
                "distance": int(m.distance),
                "variant": m.variant,
                "lists": [{"list": s.list_name, "category": s.category} for s in m.sources],
            }
            for m in self.matcher.match([signals])[0].matches
        ]
        self.image_result[item.url] = (signals.sha256, matches)
        self.frontier.finish(item.url, CrawlUrlStatus.DONE, got.status, signals.sha256, signals.error)
        pages = set(self.image_refs.get(item.url, set()))
        if item.referrer:
            pages.add(item.referrer)
        self._record_hits(item.url, signals.sha256, matches, pages)

    def _record_hits(self, image: str, sha: str, matches: list[dict[str, Any]], pages: set[str]) -> None:
        if not matches:
            return
        self.stats.found.add(image)
        for page in pages:
            self.frontier.hit(
                page, image, sha, {"matches": matches, "keywords": self.page_keywords.get(page, [])}
            )
            self.stats.hits += 1

    async def _worker(self, page_limit: int | None) -> None:
        while True:
            item = await self.queue.get()
            try:
                if item.kind == CrawlUrlKind.PAGE:
                    if page_limit is not None and self.page_budget >= page_limit:
                        continue  # stays queued in the store for the next run
                    self.page_budget += 1
                    await self._page(item)
                else:
                    await self._image(item)
            except (httpx.HTTPError, Unreachable, UnicodeError) as exc:
                self.stats.errors += 1
                self.frontier.finish(
                    item.url, CrawlUrlStatus.ERROR, None, None, f"{type(exc).__name__}: {exc}"[:500]
                )
            finally:
                if self.frontier.pending >= FLUSH_EVERY:
                    self.frontier.flush()
                self.queue.task_done()

    async def run(self, page_limit: int | None = None) -> CrawlStats:
        started = time.perf_counter()
        for seed in self.policy.seeds:
            self._enqueue(Item(seed, CrawlUrlKind.PAGE, 0, None))
        for item in self.frontier.queued:
            self.queue.put_nowait(item)
        workers = [asyncio.create_task(self._worker(page_limit)) for _ in range(self.policy.concurrency)]
        try:
            await self.queue.join()
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for client in self.clients.values():
                await client.aclose()
        self.frontier.flush()
        self.stats.skipped_scope += len(self.out_of_scope)
        self.stats.seconds = time.perf_counter() - started
        return self.stats
