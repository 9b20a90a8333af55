"""Crawler throughput: on a real documentation site behind nginx beside Scrapy, or on the lab web.

`--site DIR` serves DIR (a static documentation tree from a Debian package, e.g. python-sklearn-doc's
/usr/share/doc/python-sklearn-doc/html) with nginx on loopback, designates every 8th of its PNG/JPEG
files as "known", and crawls it twice in the same run: with Scrapy (pages followed on the host, every
<img> fetched once; needs `pip install scrapy`) and with `vigil crawl run` (pages, images fetched, hashed
and matched). Both run as child processes; peak RSS is the sum over each one's process tree. Printed:
pages/s, pages reached, (page, known image) pairs and peak RSS for both. Goals: >= 150 pages/s on 2
cores, RSS under 1.5x Scrapy's, every pair Scrapy's links lead to.

    .venv/bin/python bench/crawl.py --site /usr/share/doc/python-sklearn-doc/html

Without `--site` it crawls the lab web (2,210 small pages on 4 hosts, benign images) beside a bare
async httpx fetch of the same page URLs (no parsing, frontier, robots, scope or hashing). Goal: 300
pages/s.

    .venv/bin/python bench/crawl.py --concurrency 4
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Select, select

sys.path.insert(0, str(Path(__file__).parent))
from _common import OPERATOR, bsds_images, machine
from vigil.core.states import CrawlUrlKind
from vigil.lists.domain import import_rows
from vigil.lists.formats.base import make_row
from vigil.media.decode import decode
from vigil.signals.pdq import exact
from vigil.sources.crawl import jobs
from vigil.sources.crawl.policy import CrawlPolicy
from vigil.store.db import Store
from vigil.store.models import CrawlUrl
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


KNOWN_EVERY = 8
SITE_GOAL = 150.0


def _site_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg") and p.is_file())


def site_bench(root: Path, concurrency: int, hashers: int) -> None:
    from _site import Nginx, compile_project, load_pairs, run_measured, scrapy_crawl, settle_libraries

    images = _site_images(root)[::KNOWN_EVERY]
    known_paths = {"/" + str(p.resolve().relative_to(root.resolve())) for p in images}
    with Nginx(root) as server, tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'crawl.db'}"
        store = Store(db)
        rows = []
        for path in images:
            try:
                rows.append(make_row(str(path.name), "pdq", exact(decode(path.read_bytes())).hash_hex))
            except Exception as exc:  # a file nginx serves but no decoder reads: not "known"
                print(f"# not designated: {path.name}: {exc}")
        import_rows(store, OPERATOR, "site-known", rows)
        seed = server.base + "/index.html"

        out = Path(tmp) / "scrapy.json"
        compile_project()
        settle_libraries()
        scrapy = scrapy_crawl(seed, concurrency, out)
        scrapy_pages, scrapy_pairs = load_pairs(out)
        truth = {(p, i) for p, i in scrapy_pairs if urlsplit(i).path in known_paths}

        command = [
            str(Path(sys.executable).with_name("vigil")), "crawl", "run", seed, "--db", db,
            "--scope", "host", "--depth", "1000", "--delay", "0", "--concurrency", str(concurrency),
            "--per-host", str(concurrency), "--allow-address", "127.0.0.0/8", "--name", "site",
        ]  # fmt: skip
        if hashers >= 0:
            command += ["--hashers", str(hashers)]
        settle_libraries()
        vigil = run_measured(command)
        crawl_rate = re.search(r"\(([0-9.]+) pages/s\)", vigil.stdout)
        with store.session() as session:
            vigil_pages = set(session.scalars(_html_pages_query()))
        vigil_pairs = {(h["page"], h["image"]) for h in jobs.hits(store, 1)}

    print(f"# {root}: {len(images)} of {len(_site_images(root))} images designated known; {machine()}")
    print(f"# concurrency {concurrency} (per host too); nginx, 2 workers, on loopback; wall time includes")
    print("# each crawler's start-up; memory and CPU time are summed over each crawler's process tree;")
    print("# each starts with its libraries cached as on a machine running a while (`settle_libraries`)")
    for label, pages, run, pairs in (
        ("scrapy", scrapy_pages, scrapy, scrapy_pairs & truth),
        ("vigil", vigil_pages, vigil, vigil_pairs & truth),
    ):
        rate = len(pages) / run.seconds
        print(
            f"{label:7} {rate:5.0f} pages/s  {len(pages):5} pages in {run.seconds:5.1f} s  "
            f"pairs {len(pairs)}/{len(truth)}  peak RSS {run.peak_rss / 2**20:4.0f} MiB  "
            f"PSS {run.peak_pss / 2**20:4.0f} MiB  CPU {run.cpu_seconds:5.1f} s"
        )
    print(f"vigil's own crawl-loop rate: {crawl_rate.group(1) if crawl_rate else '?'} pages/s "
          f"(HTML and other page URLs fetched, start-up excluded)")  # fmt: skip
    print(f"pages only Scrapy reached: {len(scrapy_pages - vigil_pages)}; only Vigil: "
          f"{len(vigil_pages - scrapy_pages)}")  # fmt: skip
    print(f"pairs Vigil matched beyond the designated files (a similar picture elsewhere): "
          f"{len(vigil_pairs - truth)}")  # fmt: skip
    rate = len(vigil_pages) / vigil.seconds
    rss, pss = vigil.peak_rss / scrapy.peak_rss, vigil.peak_pss / scrapy.peak_pss
    print(f"ratio vigil/scrapy: pages/s {rate / (len(scrapy_pages) / scrapy.seconds):5.2f}  "
          f"RSS {rss:5.2f}  PSS {pss:5.2f}")  # fmt: skip
    print(f"ratio vigil/goal ({SITE_GOAL:.0f} pages/s): {rate / SITE_GOAL:5.2f}")


def _html_pages_query() -> Select[tuple[str]]:
    """Pages fetched whole (HTML, status 200): what Scrapy counts as pages."""
    return select(CrawlUrl.url).where(
        CrawlUrl.kind == CrawlUrlKind.PAGE, CrawlUrl.content_sha256.is_not(None), CrawlUrl.http_status == 200
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight (16 for --site)")
    parser.add_argument("--pages-per-site", type=int, default=700)
    parser.add_argument("--site", type=Path, help="static site directory, served by nginx")
    parser.add_argument("--hashers", type=int, default=-1, help="vigil's hashing processes (--site)")
    args = parser.parse_args()
    if args.site:
        args.concurrency = 16 if args.concurrency == 4 else args.concurrency
        site_bench(args.site, args.concurrency, args.hashers)
        return
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
