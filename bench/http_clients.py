"""HTTP client cost per fetch: httpx against aiohttp, on a real documentation site behind nginx.

The crawler's CPU goes largely into its HTTP client. This fetches every HTML page and image of DIR
(default: python-sklearn-doc's HTML tree) from nginx on loopback, 16 at a time, three ways in one
run, and prints the CPU time each took:

- `httpx`: an `httpx.AsyncClient`, streamed as the crawler used it before (the reference);
- `vigil fetch`: the crawler's own `vigil.web.fetch.fetch` over an aiohttp session (its address,
  redirect, type, size, deadline and rate checks included);
- `aiohttp`: a bare aiohttp session, for the floor.

    .venv/bin/python bench/http_clients.py [--site DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _site import Nginx
from vigil.web.fetch import fetch, session
from vigil.web.guard import AddressPolicy

CONCURRENCY = 16
SUFFIXES = (".html", ".png", ".jpg", ".jpeg")
Fetcher = Callable[[str], Awaitable[int]]


async def _drive(urls: list[str], fetch_one: Fetcher) -> tuple[float, int]:
    """CPU seconds to fetch every URL with CONCURRENCY in flight, and the bytes received."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    received = 0

    async def worker() -> None:
        nonlocal received
        while not queue.empty():
            size = await fetch_one(queue.get_nowait())
            received += size

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.process_time() - started, received


async def with_httpx(urls: list[str]) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(url: str) -> int:
            response = await client.send(client.build_request("GET", url), stream=True)
            try:
                return sum([len(chunk) async for chunk in response.aiter_bytes()])
            finally:
                await response.aclose()

        return await _drive(urls, one)


async def with_vigil(urls: list[str], base: str) -> tuple[float, int]:
    host = base.split("//", 1)[1]
    resolve = {"site.test": host}
    policy = AddressPolicy()
    async with session("vigil-bench", CONCURRENCY) as client:

        async def one(url: str) -> int:
            got = await fetch(
                client,
                url.replace(base, "http://site.test"),
                accept=lambda _type: True,
                addresses=policy,
                resolve=resolve,
            )
            return len(got.body)

        return await _drive(urls, one)


async def with_aiohttp(urls: list[str]) -> tuple[float, int]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as client:

        async def one(url: str) -> int:
            async with client.get(url) as response:
                return sum([len(chunk) async for chunk in response.content.iter_any()])

        return await _drive(urls, one)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--site", type=Path, default=Path("/usr/share/doc/python-sklearn-doc/html"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = args.site.resolve()
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)
    with Nginx(root) as server:
        urls = [f"{server.base}/{path}" for path in paths]
        runs: dict[str, list[float]] = {"httpx": [], "vigil fetch": [], "aiohttp": []}
        sizes: dict[str, int] = {}
        for _ in range(args.rounds):  # interleaved, so drift on the machine hits each alike
            for name, job in (
                ("httpx", lambda: with_httpx(urls)),
                ("vigil fetch", lambda: with_vigil(urls, server.base)),
                ("aiohttp", lambda: with_aiohttp(urls)),
            ):
                seconds, sizes[name] = asyncio.run(job())
                runs[name].append(seconds)
    mib = sizes["httpx"] / 2**20
    print(f"# {root}: {len(urls)} pages and images, {mib:.0f} MiB; {CONCURRENCY} in flight;")
    print(f"# nginx on loopback; CPU seconds of this process, best of {args.rounds}")
    best = {name: min(values) for name, values in runs.items()}
    for name, seconds in best.items():
        per = seconds / len(urls) * 1e6
        ratio = best["httpx"] / seconds
        print(f"{name:12s} CPU {seconds:5.2f} s  {per:5.0f} us a fetch  httpx/this {ratio:4.1f}x")
    if len(set(sizes.values())) != 1:
        raise SystemExit(f"the clients received different byte counts: {sizes}")


if __name__ == "__main__":
    main()
