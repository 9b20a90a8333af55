"""HTTP fetching shared by the crawler, takedown re-checks and site fingerprints.

`resolve` maps a host to "ip:port" (like curl --resolve): the request goes there with the original Host
header and TLS server name, which is how lab crawls and split-horizon setups reach their targets.

`fetch` is the crawler's: it cannot hang and cannot be steered. Each hop's host is resolved and
checked against the address policy (`guard`) and the request goes to the checked address; redirects
are followed up to `max_redirects`, loops detected, and every hop re-checked against the caller's
scope and robots rules; the whole exchange has a deadline and a minimum transfer rate; headers are
read before the body, so a body of the wrong type or a declared size over the limit is never
downloaded. Every failure is one `FetchFailed` with the reason.

The crawler talks HTTP through aiohttp (C parser, its own connection pool); the one-off GETs
(`get`, `get_sync`) through httpx. Fetching the pages and images of the scikit-learn documentation
from nginx, `fetch` takes 147 us of CPU a file against 1,189 us through httpx, whose pool, anyio
and h11 are pure Python (`bench/http_clients.py`); a crawl's event loop was mostly that. Each
library is imported where it is used: a process that never crawls never loads aiohttp, and the
crawl never loads httpx.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from vigil.core import errors
from vigil.core.errors import Forbidden, VigilError
from vigil.web.guard import AddressPolicy, AddressRefused
from vigil.web.urls import DEFAULT_PORTS

if TYPE_CHECKING:
    import aiohttp
    import httpx
    from yarl import URL


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes
    chain: tuple[str, ...] = ()  # the URLs redirected through, first to last (the last is `url`)
    skipped: str | None = None  # why the body was not downloaded (its type), else None
    retry_after: float | None = None  # seconds a 429 or 503 asked us to wait (Retry-After)


class FetchFailed(VigilError):
    """A fetch that could not complete: refused address, redirect loop, deadline, slow drip, bad URL."""

    status = 502


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 20 * 1024 * 1024
    deadline: float = 60.0  # seconds for the whole exchange, every redirect hop included
    min_rate: float = 2048.0  # bytes per second, once `grace` seconds have passed
    grace: float = 5.0
    max_redirects: int = 5


HopCheck = Callable[[str], Awaitable[str | None]]  # a hop's URL -> why it is refused, or None


class Unreachable(Forbidden):
    """The host is not allowed by the resolve policy."""


class TooLarge(errors.TooLarge):
    """The body passed `max_bytes`; no prefix of it is returned, so nothing is hashed as if whole."""


def target(
    url: str, resolve: dict[str, str], resolve_only: bool
) -> tuple[str, dict[str, str], dict[str, str]]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in resolve:
        to = urlunsplit((parts.scheme, resolve[host], parts.path, parts.query, ""))
        return to, {"Host": _host_header(parts.netloc)}, {"sni_hostname": _a_label(host)}
    if resolve_only:
        raise Unreachable(f"{host} has no --resolve entry")
    return url, {}, {}


async def get(
    client: httpx.AsyncClient,
    url: str,
    resolve: dict[str, str],
    resolve_only: bool = False,
    max_bytes: int = 20 * 1024 * 1024,
) -> Fetched:
    to, headers, extensions = target(url, resolve, resolve_only)
    async with client.stream("GET", to, headers=headers, extensions=extensions) as response:
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size = _bounded(size, chunk, max_bytes)
            chunks.append(chunk)
        return Fetched(url, response.status_code, response.headers.get("content-type", ""), b"".join(chunks))


MAX_HEADER_LINE = 64 * 1024  # bytes of one status or header line the crawler reads


def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for a whole crawl: each loads the CA bundle (about 1 MiB), and a
    crawl touching hundreds of image hosts would otherwise hold hundreds of copies. The bundle is
    the one `SSL_CERT_FILE` or `SSL_CERT_DIR` names (an operator's own CA), else certifi's, as
    httpx chooses."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def session(user_agent: str, connections: int, tls: ssl.SSLContext | None = None) -> aiohttp.ClientSession:
    """A connection pool for `fetch` (open it inside the event loop that will use it). Cookies are
    kept per session, also for hosts reached at a pinned address; no proxy is taken from the
    environment, since a proxy would connect to addresses the policy never checked. Header lines
    may run to 64 KiB (aiohttp's default is 8 KiB; large sites send longer security policies)."""
    import aiohttp

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, ssl=tls or tls_context()),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"User-Agent": user_agent},
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=20.0, sock_read=20.0),
        trust_env=False,
        max_line_size=MAX_HEADER_LINE,
        max_field_size=MAX_HEADER_LINE,
    )


async def fetch(
    client: aiohttp.ClientSession,
    url: str,
    *,
    accept: Callable[[str], bool],
    addresses: AddressPolicy,
    limits: FetchLimits | None = None,
    resolve: dict[str, str] | None = None,
    resolve_only: bool = False,
    hop_allowed: HopCheck | None = None,
) -> Fetched:
    """GET `url` safely (see the module docstring). `accept(content_type)` says which bodies to
    download; `hop_allowed` re-checks each redirect target (scope, robots)."""
    import aiohttp

    limits = limits or FetchLimits()
    try:
        async with asyncio.timeout(limits.deadline):
            return await _follow(
                client, url, accept, addresses, limits, resolve or {}, resolve_only, hop_allowed
            )
    except (AddressRefused, Unreachable) as exc:
        raise FetchFailed(str(exc)) from None
    except TooLarge:
        raise
    except aiohttp.ClientError as exc:  # before TimeoutError: aiohttp's socket timeouts are both
        raise FetchFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
    except TimeoutError:
        raise FetchFailed(f"no complete answer within {limits.deadline:g} s") from None
    except (ValueError, UnicodeError, OSError) as exc:
        raise FetchFailed(f"{type(exc).__name__}: {exc}"[:300]) from None


REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%")


def _wire_url(to: str) -> URL:
    """The URL as it goes on the wire: as written when it is plain ASCII URL characters (so the
    server sees the link's own escapes), else quoted by yarl."""
    from yarl import URL

    return URL(to, encoded=all(c in _SAFE for c in to))


async def _follow(
    client: aiohttp.ClientSession,
    url: str,
    accept: Callable[[str], bool],
    addresses: AddressPolicy,
    limits: FetchLimits,
    resolve: dict[str, str],
    resolve_only: bool,
    hop_allowed: HopCheck | None,
) -> Fetched:
    chain = [url]
    while True:
        to, headers, extensions = await _pinned(url, addresses, resolve, resolve_only)
        response = await client.get(
            _wire_url(to),
            headers=headers,
            allow_redirects=False,
            server_hostname=extensions.get("sni_hostname") if to.startswith("https:") else None,
        )
        try:
            location = _header(response, "location")
            if response.status in REDIRECTS and location:
                nxt = urljoin(url, location.strip())
                if nxt in chain:
                    raise FetchFailed(f"redirect loop: {' -> '.join([*chain, nxt])}")
                if len(chain) > limits.max_redirects:
                    raise FetchFailed(f"more than {limits.max_redirects} redirects from {chain[0]}")
                if urlsplit(nxt).scheme not in ("http", "https"):
                    raise FetchFailed(f"redirect to a non-HTTP URL {nxt[:200]}")
                refused = await hop_allowed(nxt) if hop_allowed else None
                if refused:
                    raise FetchFailed(f"redirect to {nxt[:200]} refused: {refused}")
                chain.append(nxt)
                url = nxt
                continue
            content_type = _header(response, "content-type")
            if response.status != 200 or not accept(content_type):
                why = None if response.status != 200 else f"not downloaded: type {content_type[:80]!r}"
                wait = _header(response, "retry-after").strip()
                retry = float(wait) if wait.isdigit() else None
                return Fetched(url, response.status, content_type, b"", tuple(chain), why, retry)
            declared = _header(response, "content-length")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise TooLarge(f"declares {declared} bytes, over {limits.max_bytes}")
            body = await _read(response, limits)
            return Fetched(url, response.status, content_type, body, tuple(chain))
        finally:
            response.release()  # back to the pool when the body was read whole, else closed


def _header(response: aiohttp.ClientResponse, name: str) -> str:
    """A header's text: UTF-8 where its bytes are UTF-8, else Latin-1, as httpx and browsers read
    them. aiohttp keeps undecodable bytes as lone surrogates, and a redirect to b"/caf\\xe9" would
    become a URL no store can hold (and a request for "/caf")."""
    raw = response.headers.get(name, "").encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


async def _pinned(
    url: str, addresses: AddressPolicy, resolve: dict[str, str], resolve_only: bool
) -> tuple[str, dict[str, str], dict[str, str]]:
    """Where to send the request: the operator's --resolve target, else the host's first permitted
    address (pinned: the connection goes to the address that was checked)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        raise FetchFailed(f"not an http(s) URL with a host: {url[:200]}")
    if host in resolve or resolve_only:
        return target(url, resolve, resolve_only)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    return _to_address(parts, host, port, await addresses.resolve(host, port))


def _to_address(
    parts: SplitResult, host: str, port: int, address: str
) -> tuple[str, dict[str, str], dict[str, str]]:
    shown = f"[{address}]" if ":" in address else address
    to = urlunsplit((parts.scheme, f"{shown}:{port}", parts.path or "/", parts.query, ""))
    extensions = {"sni_hostname": _a_label(host)} if parts.scheme == "https" else {}
    return to, {"Host": _host_header(parts.netloc)}, extensions


def _a_label(host: str) -> str:
    """A host name as it goes on the wire (Host header, TLS server name): an internationalised name
    in its ASCII form, bücher.example as xn--bcher-kva.example, by IDNA 2008 with the UTS #46
    mapping as browsers send it. A name IDNA refuses raises (a UnicodeError)."""
    if host.isascii():
        return host
    import idna

    return idna.encode(host, uts46=True).decode("ascii")


def _host_header(netloc: str) -> str:
    netloc = netloc.rsplit("@", 1)[-1]  # never user info
    if netloc.isascii():
        return netloc
    host, colon, port = netloc.rpartition(":")
    if not colon or not port.isdigit():
        host, colon, port = netloc, "", ""
    return _a_label(host) + colon + port


async def _read(response: aiohttp.ClientResponse, limits: FetchLimits) -> bytes:
    """The body, bounded in size, given up when it trickles in slower than `min_rate` once
    `grace` seconds of body have passed (a server dripping one byte every few seconds)."""
    chunks, size, began = [], 0, time.monotonic()
    async for chunk in response.content.iter_any():
        size = _bounded(size, chunk, limits.max_bytes)
        chunks.append(chunk)
        elapsed = time.monotonic() - began
        if elapsed > limits.grace and size / elapsed < limits.min_rate:
            raise FetchFailed(f"too slow: {size} bytes in {elapsed:.1f} s (minimum {limits.min_rate:g} B/s)")
    return b"".join(chunks)


def _bounded(size: int, chunk: bytes, max_bytes: int) -> int:
    size += len(chunk)
    if size > max_bytes:
        raise TooLarge(f"larger than {max_bytes} bytes")
    return size


STRICT = AddressPolicy()


def get_sync(
    url: str,
    resolve: dict[str, str] | None = None,
    timeout: float = 20.0,
    max_bytes: int = 20 * 1024 * 1024,
    client: httpx.Client | None = None,
    addresses: AddressPolicy | None = STRICT,
) -> Fetched:
    """One GET; pass a `client` to reuse connections (creating a client costs more than a loopback
    fetch). Hosts outside `resolve` are resolved and checked against `addresses` (public addresses
    only by default; None only where the caller holds its own allow-list of hosts)."""
    if client is None:
        import httpx

        with httpx.Client(timeout=timeout, follow_redirects=False) as own:
            return get_sync(url, resolve, timeout, max_bytes, own, addresses)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if addresses is not None and host and host not in (resolve or {}) and parts.scheme in DEFAULT_PORTS:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        to, headers, extensions = _to_address(parts, host, port, addresses.resolve_sync(host, port))
    else:
        to, headers, extensions = target(url, resolve or {}, False)
    with client.stream("GET", to, headers=headers, extensions=extensions) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:  # refused before a byte of the body is read
            raise TooLarge(f"declares {declared} bytes, more than {max_bytes}")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size = _bounded(size, chunk, max_bytes)
            chunks.append(chunk)
        return Fetched(url, response.status_code, response.headers.get("content-type", ""), b"".join(chunks))
