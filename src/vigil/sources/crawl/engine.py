"""The crawl loop: async HTTP workers over a store-backed frontier, images hashed off the event loop.

Pages in scope are fetched (robots.txt obeyed unless switched off, per-host concurrency and delay),
their links followed to `max_depth`, their images fetched once per URL and once per content, hashed by
the core (`signals.compute`) in worker processes, and matched by the scan matcher. A match on a page is a
`crawl_hits` row for human review. Page text can also be checked against a reviewed term list, a second
signal recorded with the hit. Results are committed in batches; an interrupted crawl resumes from the
store's frontier without fetching done URLs again.

No URL can stop or stall a crawl: every fetch goes through `web.fetch.fetch` (address policy,
redirects re-checked against scope and robots, a deadline and a minimum transfer rate, types checked
before bodies), each work item runs under a watchdog, and any error is recorded against its URL.
robots.txt is read with Protego (RFC 9309: longest match, `Allow` beside `Disallow`, `*` and `$`),
and its `Crawl-delay` is a floor under the per-host delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from protego import Protego

from vigil.actions.blocking import search
from vigil.core.states import CrawlUrlKind, CrawlUrlStatus
from vigil.match.matcher import Match, Matcher
from vigil.media.decode import Mode
from vigil.signals.compute import FileSignals, compute
from vigil.sources.crawl.frontier import Frontier, Item
from vigil.sources.crawl.hashers import HasherDied, Hashers
from vigil.sources.crawl.policy import CrawlPolicy
from vigil.sources.crawl.traps import TrapGuard
from vigil.store.db import Store
from vigil.web import urls
from vigil.web.fetch import Fetched, FetchFailed, HopCheck, TooLarge, Unreachable, fetch, session, tls_context
from vigil.web.kinds import LinkKind, extension, link_kind
from vigil.web.parse import parse

if TYPE_CHECKING:
    import aiohttp

HTML_TYPES = ("text/html", "application/xhtml+xml")
FLUSH_EVERY = 200
FLUSH_SECONDS = 5.0
MAX_TRIES = 2  # a page answered 429 or 503 is tried again this often, after the host's pause
WATCHDOG_SLACK = 30.0  # seconds a work item may take beyond one fetch deadline (hashing, the store)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_html(content_type: str) -> bool:
    return _media_type(content_type) in HTML_TYPES


def is_media(content_type: str) -> bool:
    """Images and videos; servers that do not say what they send are given the benefit of the doubt."""
    kind = _media_type(content_type)
    return kind.startswith(("image/", "video/")) or kind in (
        "",
        "application/octet-stream",
        "binary/octet-stream",
    )


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
    skipped_traps: int = 0  # pages not queued: host budget spent, or a trap pattern
    skipped_type: int = 0  # links to source files, archives, documents: not fetched
    interrupted: bool = False  # stopped by a signal; the frontier was written, `resume` carries on
    found: set[str] = field(default_factory=set)  # image URLs that matched

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


class MatchBatch:
    """Images matched together: one round of store look-ups for up to `size` images, made when that
    many are waiting or `wait` seconds after the first (each match alone costs a few queries)."""

    def __init__(self, matcher: Matcher, size: int = 32, wait: float = 0.05) -> None:
        self.matcher, self.size, self.wait = matcher, size, wait
        self.waiting: list[tuple[FileSignals, asyncio.Future[list[Match]]]] = []
        self.timer: asyncio.TimerHandle | None = None

    async def match(self, signals: FileSignals) -> list[Match]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Match]] = loop.create_future()
        self.waiting.append((signals, future))
        if len(self.waiting) >= self.size:
            self._run()
        elif self.timer is None:
            self.timer = loop.call_later(self.wait, self._run)
        return await future

    def _run(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.waiting = self.waiting, []
        try:
            results = self.matcher.match([signals for signals, _ in batch])
        except Exception as exc:  # each image waiting gets the error, recorded against its URL
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result.matches)


class Crawler:
    def __init__(
        self,
        store: Store,
        job_id: int,
        policy: CrawlPolicy,
        matcher: Matcher,
        hashers: Hashers | None = None,
    ) -> None:
        self.store, self.job_id, self.policy, self.matcher = store, job_id, policy, matcher
        self.frontier = Frontier(store, job_id)
        self.hashers = hashers  # None: hash in this process (tests, --hashers 0)
        self.hash_file: Callable[[str, bytes, Mode], FileSignals] = compute
        self.stats = CrawlStats()
        # Pages and images wait apart, each with its own workers, so the hashers get images while
        # the pages are still being crawled (one queue would hold every image behind every page).
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.image_queue: asyncio.Queue[Item] = asyncio.Queue()
        self.host_slots: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(policy.per_host)
        )
        self.host_next: dict[str, float] = defaultdict(float)
        self.robots: dict[str, Protego | None] = {}
        self.robots_lock: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # page body sha -> (its image srcs, its keyword ids): what a mirror of it shows
        self.content_seen: dict[str, tuple[list[str], list[str]]] = {}
        self.image_result: dict[str, tuple[str, list[dict[str, Any]]] | None] = {
            url: (sha, detail.get("matches", [])) for url, (sha, detail) in self.frontier.matched.items()
        }  # url -> (sha, matches); matched images from earlier runs come back from their hits
        self.image_refs: dict[str, set[str]] = defaultdict(set)  # image url -> pages showing it
        self.page_keywords: dict[str, list[str]] = {}
        self.terms = search.TermList.from_lines(policy.keywords) if policy.keywords else None
        self.page_budget = 0
        self.out_of_scope: set[str] = set()
        self.clients: dict[str, aiohttp.ClientSession] = {}  # origin -> its pool and cookies
        self.tls = tls_context()  # one for every pool
        self.addresses = policy.addresses()
        self.traps = TrapGuard(policy.per_host_pages)
        self.traps.count_all(self.frontier.page_urls)
        self.backoff: dict[str, float] = defaultdict(float)  # host -> seconds, grown by 429/503
        self.crawl_delay: dict[str, float] = {}  # host -> robots.txt Crawl-delay (a floor under `delay`)
        self.hash_slots = asyncio.Semaphore(hashers.capacity if hashers is not None else 4)
        self.image_workers = policy.concurrency  # image fetches in flight beside the page fetches
        self.hashing: set[asyncio.Task[None]] = set()  # images being hashed and matched
        self.hashing_content: dict[str, asyncio.Event] = {}  # SHA-256 -> set once it is hashed
        self.content_hashed: dict[str, tuple[list[dict[str, Any]], str | None]] = {}  # SHA-256 ->
        # (matches, decoder's error): about 200 bytes an image
        self.batch = MatchBatch(matcher)

    def client_for(self, url: str) -> aiohttp.ClientSession:
        """One connection pool per origin, so that cookies stay with the site that set them."""
        origin = urls.origin(url)
        client = self.clients.get(origin)
        if client is None:
            client = self.clients[origin] = session(self.policy.user_agent, self.policy.per_host, self.tls)
        return client

    async def _get(
        self, url: str, accept: Callable[[str], bool], max_bytes: int, hop: HopCheck | None = None
    ) -> Fetched:
        return await fetch(
            self.client_for(url),
            url,
            accept=accept,
            addresses=self.addresses,
            limits=self.policy.limits(max_bytes),
            resolve=self.policy.resolve,
            resolve_only=self.policy.resolve_only,
            hop_allowed=hop,
        )

    async def _page_hop(self, url: str) -> str | None:
        """Why a redirect from a page may not go to `url` (scope, --resolve, robots.txt), or None."""
        link = urls.normalise(url)
        if link is None:
            return "not an http(s) URL"
        if not self.policy.in_scope(link):
            return "out of scope"
        if not self.policy.reachable(link):
            return "no --resolve entry"
        if not await self._allowed(link):
            return "robots.txt"
        return None

    async def _image_hop(self, url: str) -> str | None:
        link = urls.normalise(url)
        if link is None or not self.policy.image_allowed(link) or not self.policy.reachable(link):
            return "not an image URL this crawl may fetch"
        return None

    # ------------------------------------------------------------------ politeness and robots
    def _adapt(self, host: str, got: Fetched) -> None:
        """A host that answers 429 or 503 is slowed down (doubling, up to a minute, and never
        sooner than its Retry-After); one that answers normally gets its pace back by halves."""
        if got.status in (429, 503):
            self.backoff[host] = min(max(2 * self.backoff[host], 1.0, got.retry_after or 0.0), 60.0)
            self.host_next[host] = max(self.host_next[host], time.monotonic() + self.backoff[host])
        elif self.backoff[host]:
            self.backoff[host] = self.backoff[host] / 2 if self.backoff[host] > 0.1 else 0.0

    async def _slot(self, host: str) -> None:
        delay = max(self.policy.delay, self.crawl_delay.get(host, 0.0), self.backoff[host])
        if delay <= 0:
            return
        wait = self.host_next[host] - time.monotonic()
        self.host_next[host] = max(self.host_next[host], time.monotonic()) + delay
        if wait > 0:
            await asyncio.sleep(wait)

    async def _allowed(self, url: str) -> bool:
        if not self.policy.obey_robots:
            return True
        origin = urls.origin(url)
        async with self.robots_lock[origin]:
            if origin not in self.robots:
                self.robots[origin] = await self._robots(origin)
        rules = self.robots[origin]
        return rules is not None and rules.can_fetch(url, self.policy.user_agent)

    async def _robots(self, origin: str) -> Protego | None:
        """The site's rules; None (nothing allowed) when robots.txt answers 5xx or cannot be read,
        as RFC 9309 asks. Redirects are followed (within the site's scope) like any fetch."""
        try:
            got = await self._get(origin + "/robots.txt", lambda _type: True, 512 * 1024)
        except (FetchFailed, TooLarge):
            return None
        if got.status >= 500:
            return None
        text = got.body.decode("utf-8", "replace") if got.status < 400 else ""
        rules = Protego.parse(text)
        delay = rules.crawl_delay(self.policy.user_agent)
        if delay:
            self.crawl_delay[urls.host(origin + "/")] = min(float(delay), 60.0)
        return rules

    # ------------------------------------------------------------------ work items
    def _enqueue(self, item: Item) -> None:
        if self.frontier.add(item):
            self._queue_for(item).put_nowait(item)

    def _queue_for(self, item: Item) -> asyncio.Queue[Item]:
        return self.queue if item.kind == CrawlUrlKind.PAGE else self.image_queue

    def _enqueue_page(self, item: Item) -> None:
        """Queue a page unless its host's budget is spent or it looks like a trap (kept as skipped,
        with the reason, so nobody wonders where the rest of a calendar went)."""
        if urls.key(item.url) in self.frontier.seen:
            return
        refused = self.traps.refuse(item.url)
        if refused is None:
            self.traps.count(item.url)
            self._enqueue(item)
        elif self.frontier.add(item):
            self.stats.skipped_traps += 1
            self.frontier.finish(item.url, CrawlUrlStatus.SKIPPED, note=refused)

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
            got = await self._get(item.url, is_html, 20 * 1024 * 1024, self._page_hop)
        self._adapt(host, got)
        if got.status in (429, 503) and item.tries < MAX_TRIES:
            self.page_budget -= 1  # asked to come back later: the page is tried again, after the pause
            self.queue.put_nowait(dataclasses.replace(item, tries=item.tries + 1))
            return
        self.stats.pages += 1
        self.stats.bytes += len(got.body)
        sha = hashlib.sha256(got.body).hexdigest()
        base = urls.normalise(got.url) or item.url  # links resolve against where the redirects ended
        if got.status != 200 or got.skipped:
            self.frontier.finish(item.url, CrawlUrlStatus.DONE, got.status, None, _note(got, got.skipped))
            return
        self.traps.observe(item.url, got.body)
        if sha in self.content_seen:  # mirrored or duplicated page: its links are already queued,
            self.stats.duplicate_content += 1  # but it shows the images too: each is a finding
            self.frontier.finish(item.url, CrawlUrlStatus.DONE, got.status, sha, "duplicate content")
            srcs, keywords = self.content_seen[sha]
            if keywords:
                self.page_keywords[item.url] = keywords
            self._images_on(item, base, srcs)
            return
        page = parse(got.body.decode("utf-8", "replace"), want_text=self.terms is not None)
        if page.base:
            base = urls.normalise(page.base, base) or base
        links: dict[str, None] = {}  # resolved page links, each once
        media = list(page.images)
        for href in dict.fromkeys(page.links):
            link = urls.normalise(href, base)
            if link is None:
                continue
            kind = link_kind(link)
            if kind is LinkKind.MEDIA:
                media.append(link)  # a gallery's link to the full-size picture or the video
            elif kind is LinkKind.PAGE or self.policy.fetch_all_links:
                links.setdefault(link)
            else:
                self._not_a_page(item, link)
        note = None
        if self.terms is not None:
            matched = search.check(page.text, self.terms).matched
            if matched:
                self.page_keywords[item.url] = list(matched)
                note = "keywords: " + ",".join(matched)
        self.content_seen[sha] = (media, self.page_keywords.get(item.url, []))
        self.frontier.finish(item.url, CrawlUrlStatus.DONE, got.status, sha, _note(got, note))
        self._images_on(item, base, media)
        if item.depth >= self.policy.max_depth:
            return
        for link in links:
            if self.policy.in_scope(link) and self.policy.reachable(link):
                self._enqueue_page(Item(link, CrawlUrlKind.PAGE, item.depth + 1, item.url))
            else:
                self.out_of_scope.add(link)

    def _not_a_page(self, item: Item, link: str) -> None:
        """A link to a source file, archive or document: kept in the frontier as skipped, unfetched."""
        if not self.policy.in_scope(link):
            self.out_of_scope.add(link)
        elif self.frontier.add(Item(link, CrawlUrlKind.PAGE, item.depth + 1, item.url)):
            self.stats.skipped_type += 1
            note = f"not a page or media (.{extension(link)}); --fetch-all-links fetches it"
            self.frontier.finish(link, CrawlUrlStatus.SKIPPED, note=note)

    def _images_on(self, item: Item, base: str, srcs: list[str]) -> None:
        """Record the page's images: a hit now for each already known to match, else a reference
        kept (in the store too) until the image is fetched, in this run or a later one."""
        for src in srcs:
            image = urls.normalise(src, base)
            if image is None or not self.policy.image_allowed(image) or not self.policy.reachable(image):
                continue
            self.image_refs[image].add(item.url)
            known = self.image_result.get(image)
            if known is not None:
                self._record_hits(image, known[0], known[1], {item.url})
            else:
                self.frontier.ref(image, item.url)
            self._enqueue(Item(image, CrawlUrlKind.IMAGE, item.depth, item.url))

    async def _image(self, item: Item) -> Fetched | None:
        """Fetch one image; its body when there is one to hash (the caller hands it on)."""
        host = urls.host(item.url)
        async with self.host_slots[host]:
            await self._slot(host)
            got = await self._get(item.url, is_media, self.policy.max_image_bytes, self._image_hop)
        self.stats.images += 1
        self.stats.bytes += len(got.body)
        if got.status != 200 or got.skipped:
            reason = got.skipped or f"HTTP {got.status}"
            self.frontier.finish(item.url, CrawlUrlStatus.ERROR, got.status, None, _note(got, reason))
            return None
        return got

    async def _to_hasher(self, item: Item, got: Fetched) -> None:
        """Hand a fetched body to the hashers. Waiting for room here, outside the fetch watchdog,
        slows the image workers when hashing falls behind, and never loses a fetched image."""
        await self.hash_slots.acquire()
        task = asyncio.create_task(self._hash(item, got))
        self.hashing.add(task)
        task.add_done_callback(self.hashing.discard)

    async def _hash(self, item: Item, got: Fetched) -> None:
        """Hash and match one fetched image while the workers go on fetching: a worker that waited
        for the hasher would leave the network idle, and the hasher idle while it fetched."""
        try:
            sha, matches, error = await self._by_content(item, got.body)
        except asyncio.CancelledError:
            raise  # stopped: the image stays queued for `resume`
        except Exception as exc:  # one image's failure must not stop the crawl
            self.stats.errors += 1
            self.frontier.finish(item.url, CrawlUrlStatus.ERROR, got.status, None, _reason(exc)[:500])
            return
        self.image_result[item.url] = (sha, matches)
        self.frontier.finish(item.url, CrawlUrlStatus.DONE, got.status, sha, _note(got, error))
        pages = set(self.image_refs.get(item.url, set())) | self.frontier.pages_of(item.url)
        if item.referrer:
            pages.add(item.referrer)
        self._record_hits(item.url, sha, matches, pages)

    async def _by_content(self, item: Item, body: bytes) -> tuple[str, list[dict[str, Any]], str | None]:
        """(SHA-256, matches, decoder's error) of these bytes, hashed once however many URLs serve
        them: sites serve one picture under several names (a gallery's thumbnail and the page's
        copy; 125 of the 879 pictures on scikit-learn's documentation repeat another's bytes).
        A copy that arrives while the first is being hashed waits for it; if that fails, the copy
        is hashed itself. Releases this image's hashing slot once its bytes are hashed."""
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.hash_slots.release()

        try:
            sha = hashlib.sha256(body).hexdigest()
            while sha in self.hashing_content:
                await self.hashing_content[sha].wait()
            done = self.content_hashed.get(sha)
            if done is None:
                done = await self._hash_content(sha, item, body, release)
            return sha, *done
        finally:
            release()

    async def _hash_content(
        self, sha: str, item: Item, body: bytes, hashed: Callable[[], None]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Hash and match bytes no other URL has brought; copies that arrive meanwhile wait."""
        busy = self.hashing_content[sha] = asyncio.Event()
        try:
            signals = await self._signals(item, body)
            hashed()  # the body is hashed: the next one may come while this one is matched
            matches = [
                {
                    "hash_type": m.hash_type,
                    "distance": int(m.distance),
                    "variant": m.variant,
                    "tier": m.tier.value,
                    "false_match": m.false_match,
                    "lists": [{"list": s.list_name, "category": s.category} for s in m.sources],
                }
                for m in await self.batch.match(signals)
            ]
            self.content_hashed[sha] = (matches, signals.error)
            return matches, signals.error
        finally:
            del self.hashing_content[sha]
            busy.set()

    async def _signals(self, item: Item, body: bytes) -> FileSignals:
        name = item.url.rsplit("/", 1)[-1] or "image"
        if self.hashers is None:
            return self.hash_file(name, body, "fast")
        try:
            return await self._hashed(self.hashers, name, body, alone=False)
        except HasherDied:
            # Its process died with this file in it (a decoder crash on this file or on one
            # handed over with it, or the system killed it) and was replaced. Once more, in a
            # process with no other file: a second death is this file's doing, recorded against it.
            return await self._hashed(self.hashers, name, body, alone=True)

    async def _hashed(self, hashers: Hashers, name: str, body: bytes, *, alone: bool) -> FileSignals:
        work = hashers.hash(name, body, alone=alone)
        async with asyncio.timeout(self.policy.deadline + WATCHDOG_SLACK):  # see `_worker`
            return await work

    def _record_hits(self, image: str, sha: str, matches: list[dict[str, Any]], pages: set[str]) -> None:
        if not matches:
            return
        self.stats.found.add(image)
        for page in pages:
            self.frontier.hit(
                page, image, sha, {"matches": matches, "keywords": self.page_keywords.get(page, [])}
            )
            self.stats.hits += 1

    async def _worker(self, queue: asyncio.Queue[Item], page_limit: int | None) -> None:
        """Items from `queue` until cancelled. The watchdog is `asyncio.timeout`, not `wait_for`:
        on Python 3.11, `wait_for` swallows a cancellation that comes as its item finishes, and a
        worker stopped by Ctrl-C or SIGTERM then waited on its empty queue for ever (seen: the
        crawl never ended after the signal)."""
        while True:
            item = await queue.get()
            try:
                if item.kind == CrawlUrlKind.PAGE:
                    if page_limit is not None and self.page_budget >= page_limit:
                        continue  # stays queued in the store for the next run
                    self.page_budget += 1
                    async with asyncio.timeout(self.policy.deadline + WATCHDOG_SLACK):
                        await self._page(item)
                else:
                    async with asyncio.timeout(self.policy.deadline + WATCHDOG_SLACK):
                        got = await self._image(item)
                    if got is not None:
                        await self._to_hasher(item, got)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one URL's failure, whatever it is, must not stop the crawl
                self.stats.errors += 1
                self.frontier.finish(item.url, CrawlUrlStatus.ERROR, None, None, _reason(exc)[:500])
            finally:
                if self.frontier.pending >= FLUSH_EVERY:
                    self.frontier.flush()
                queue.task_done()

    async def _flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.frontier.flush()

    async def run(self, page_limit: int | None = None) -> CrawlStats:
        """Crawl until the frontier is empty or the page budget is spent: `page_limit` pages this
        run, and never more than the policy's `max_pages` over all runs of the job. The frontier is
        written every 200 changes, every 5 seconds, and when the run stops, however it stops
        (SIGTERM and Ctrl-C included)."""
        started = time.perf_counter()
        if self.hashers is not None:
            await self.hashers.start()
        left = max(self.policy.max_pages - self.frontier.pages_done, 0)
        page_limit = left if page_limit is None else min(page_limit, left)
        for seed in self.policy.seeds:
            if urls.key(seed) not in self.frontier.seen:
                self.traps.count(seed)
            self._enqueue(Item(seed, CrawlUrlKind.PAGE, 0, None))
        for item in self.frontier.queued:
            self._queue_for(item).put_nowait(item)
        loop, main = asyncio.get_running_loop(), asyncio.current_task()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signal.SIGTERM, main.cancel)  # type: ignore[union-attr]
        workers = [
            *(
                asyncio.create_task(self._worker(self.queue, page_limit))
                for _ in range(self.policy.concurrency)
            ),
            *(asyncio.create_task(self._worker(self.image_queue, None)) for _ in range(self.image_workers)),
        ]
        flusher = asyncio.create_task(self._flush_every(FLUSH_SECONDS))
        try:
            await self.queue.join()  # no page left: no image will be queued any more
            if self.hashers is not None:
                self.hashers.widen()  # this process needs little more than its event loop now
            await self.image_queue.join()
            while self.hashing:  # the last images' hashes (hashing queues no further work)
                await asyncio.gather(*self.hashing)
        except asyncio.CancelledError:
            self.stats.interrupted = True
        finally:
            for task in (*workers, *self.hashing, flusher):
                task.cancel()
            await asyncio.gather(*workers, *self.hashing, flusher, return_exceptions=True)
            for client in self.clients.values():
                await client.close()
            if self.hashers is not None:
                await self.hashers.close()
            self.frontier.flush()
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGTERM)
        self.stats.skipped_scope += len(self.out_of_scope)
        self.stats.seconds = time.perf_counter() - started
        return self.stats


def _reason(exc: Exception) -> str:
    """What the frontier says of a failed item: our own refusals speak for themselves."""
    if isinstance(exc, TimeoutError):
        return "watchdog: gave up on the item"
    if isinstance(exc, FetchFailed | Unreachable | TooLarge):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _note(got: Fetched, note: str | None) -> str | None:
    """The frontier note, with the redirect chain when there was one (kept as evidence)."""
    if len(got.chain) < 2:
        return note
    chain = "redirects: " + " -> ".join(got.chain)
    return f"{chain}; {note}" if note else chain
