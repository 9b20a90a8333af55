"""Crawler throughput on loopback against the lab web (2,210 pages on 4 hosts, benign images).

The reference in the same run is a bare async httpx fetch of the same page URLs with the same
concurrency and no parsing, frontier, robots, scope or hashing: the ceiling for this client on this
machine. Goal: 300 pages/s.

    .venv/bin/python bench/crawl.py --concurrency 4
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import OPERATOR, bsds_images, machine
from vigil.lists.domain import import_rows
from vigil.lists.formats.base import make_row
from vigil.media.decode import decode
from vigil.signals.pdq import exact
from vigil.sources.crawl import jobs
from vigil.sources.crawl.policy import CrawlPolicy
from vigil.store.db import Store
from vigil.testing.labweb import IN_SCOPE, LabServer
from vigil.web.fetch import get

GOAL = 300.0


async def bare_fetch(page_urls: list[str], resolve: dict[str, str], concurrency: int) -> float:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in page_urls:
        queue.put_nowait(url)
    clients: dict[str, httpx.AsyncClient] = {}

    async def worker() -> None:
        while not queue.empty():
            url = queue.get_nowait()
            host = url.split("/")[2]
            if host not in clients:  # one pool per host, as the crawler has
                clients[host] = httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency))
            client = clients[host]
            await get(client, url, resolve)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    for client in clients.values():
        await client.aclose()
    return len(page_urls) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pages-per-site", type=int, default=700)
    args = parser.parse_args()
    images = bsds_images()[:60]
    with (
        LabServer(images, pages_per_site=args.pages_per_site) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        store = Store(f"sqlite:///{Path(tmp) / 'crawl.db'}")
        known = [exact(decode(images[i].read_bytes())).hash_hex for i in server.lab.known]
        import_rows(store, OPERATOR, "lab-known", [make_row("bench", "pdq", h) for h in known])
        policy = CrawlPolicy(
            seeds=server.seeds(),
            allowed=["lab-two.net", "lab-three.org"],
            max_depth=100,
            delay=0,
            concurrency=args.concurrency,
            per_host=args.concurrency,
            resolve=server.resolve,
            resolve_only=True,
        )
        job = jobs.start_job(store, OPERATOR, "bench", policy)
        stats = jobs.run_job(store, OPERATOR, job, workers=1)
        pages = [
            f"http://{host}{path}"
            for host in IN_SCOPE
            for path in server.lab.pages[host]
            if not path.startswith("/private/")
        ]
        bare = asyncio.run(bare_fetch(pages, server.resolve, args.concurrency))
        print(f"# lab web: {server.lab.page_count()} pages, concurrency {args.concurrency}, {machine()}")
        print(
            f"crawler              {stats.pages_per_second:8.0f} pages/s  ({stats.pages} pages, "
            f"{stats.images} images hashed and matched, {stats.seconds:.1f} s)"
        )
        print(f"bare httpx fetch     {bare:8.0f} pages/s  (same URLs, no parsing, frontier or hashing)")
        print(f"ratio crawler/bare   {stats.pages_per_second / bare:8.2f}")
        print(f"ratio vs goal        {stats.pages_per_second / GOAL:8.2f}  (goal {GOAL:.0f} pages/s)")
        print(f"known images found   {len(stats.found)} (reachable known: {len(server.lab.reachable_known)})")


if __name__ == "__main__":
    main()
