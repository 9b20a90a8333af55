"""What a crawl may touch and how fast: scope, depth, robots.txt, per-host politeness."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vigil.web import urls
from vigil.web.fetch import FetchLimits
from vigil.web.guard import AddressPolicy


@dataclass
class CrawlPolicy:
    seeds: list[str]
    scope: str = "site"  # site: same registrable domain as a seed; host: same host; list: `allowed` only
    allowed: list[str] = field(default_factory=list)  # extra sites (registrable domains) in scope
    max_depth: int = 5
    max_pages: int = 100_000
    obey_robots: bool = True
    concurrency: int = 16
    per_host: int = 4
    delay: float = 1.0  # seconds between requests to one host (0 on a lab network)
    user_agent: str = "VigilCrawler/0.1 (+child-safety hash matching; contact: abuse desk of the operator)"
    images: str = "any"  # any: embedded images are fetched from any host; scope: only in-scope hosts
    max_image_bytes: int = 20 * 1024 * 1024
    resolve: dict[str, str] = field(default_factory=dict)  # host -> "ip:port" (like curl --resolve)
    resolve_only: bool = False  # refuse hosts missing from `resolve` (lab and test crawls)
    keywords: list[str] = field(default_factory=list)  # "id<TAB>term" lines, the search-warning format
    # Networks the crawler may connect to although they are not public (a lab web, an intranet the
    # unit may crawl). Everything else private, loopback, link-local or CGNAT is refused (web.guard).
    allow_addresses: list[str] = field(default_factory=list)
    deadline: float = 60.0  # seconds for one fetch, redirects included
    min_rate: float = 2048.0  # bytes/s a body must keep up after its first seconds
    max_redirects: int = 5
    per_host_pages: int = 10_000  # pages one host may have queued over the whole job
    fetch_all_links: bool = False  # also fetch links to source files, archives, documents (web.kinds)

    def __post_init__(self) -> None:
        seeds = [u for u in (urls.normalise(s) for s in self.seeds) if u]
        self.seeds = seeds
        self._sites = {urls.site(urls.host(s)) for s in seeds} | {a.lower() for a in self.allowed}
        self._hosts = {urls.host(s) for s in seeds}

    def in_scope(self, url: str) -> bool:
        host = urls.host(url)
        if self.scope == "host":
            return host in self._hosts
        if self.scope == "list":
            return urls.site(host) in {a.lower() for a in self.allowed}
        return urls.site(host) in self._sites

    def image_allowed(self, url: str) -> bool:
        return self.images == "any" or self.in_scope(url)

    def reachable(self, url: str) -> bool:
        return not self.resolve_only or urls.host(url) in self.resolve

    def addresses(self) -> AddressPolicy:
        return AddressPolicy.allowing(self.allow_addresses)

    def limits(self, max_bytes: int) -> FetchLimits:
        return FetchLimits(max_bytes, self.deadline, self.min_rate, max_redirects=self.max_redirects)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
