"""HTTP fetching shared by the crawler, takedown re-checks and site fingerprints.

`resolve` maps a host to "ip:port" (like curl --resolve): the request goes there with the original Host
header and TLS server name, which is how lab crawls and split-horizon setups reach their targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from vigil.core import errors
from vigil.core.errors import Forbidden


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes


class Unreachable(Forbidden):
    """The host is not allowed by the resolve policy."""


class TooLarge(errors.TooLarge, httpx.DecodingError):
    """The body passed `max_bytes`; no prefix of it is returned, so nothing is hashed as if whole."""


def target(
    url: str, resolve: dict[str, str], resolve_only: bool
) -> tuple[str, dict[str, str], dict[str, str]]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in resolve:
        to = urlunsplit((parts.scheme, resolve[host], parts.path, parts.query, ""))
        return to, {"Host": parts.netloc}, {"sni_hostname": host}
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


def _bounded(size: int, chunk: bytes, max_bytes: int) -> int:
    size += len(chunk)
    if size > max_bytes:
        raise TooLarge(f"larger than {max_bytes} bytes")
    return size


def get_sync(
    url: str,
    resolve: dict[str, str] | None = None,
    timeout: float = 20.0,
    max_bytes: int = 20 * 1024 * 1024,
    client: httpx.Client | None = None,
) -> Fetched:
    """One GET; pass a `client` to reuse connections (creating a client costs more than a loopback fetch)."""
    if client is None:
        with httpx.Client(timeout=timeout, follow_redirects=False) as own:
            return get_sync(url, resolve, timeout, max_bytes, own)
    to, headers, extensions = target(url, resolve or {}, False)
    with client.stream("GET", to, headers=headers, extensions=extensions) as response:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size = _bounded(size, chunk, max_bytes)
            chunks.append(chunk)
        return Fetched(url, response.status_code, response.headers.get("content-type", ""), b"".join(chunks))
