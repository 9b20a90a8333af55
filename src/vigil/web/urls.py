"""URL normalisation and site identity (registrable domain from tldextract's bundled suffix list)."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

import tldextract

_PSL = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(url: str, base: str | None = None) -> str | None:
    """Absolute, fragment-free, lowercase scheme and host, no default port; None if not http(s).

    `base` must itself be normalised (the crawler only passes URLs it normalised).
    """
    if base is not None and url.startswith("/") and not url.startswith("//") and not _NEEDS_JOIN.search(url):
        return origin(base) + url  # the common root-relative link, without urljoin's cost
    if base is None or url.startswith(("http://", "https://")):
        return _absolute(url)
    if url and url[0] not in "/?# \t\r\n\f" and ":" not in url.split("/", 1)[0]:
        # A relative path resolves against the base's directory alone (RFC 3986 5.2.3), and a site
        # repeats the same relative links on thousands of pages of one directory: memoised.
        return _relative(url, base[: base.rfind("/") + 1])
    return _joined(url, base)


_NETLOC = re.compile(r"[^/?#]*")
_NEEDS_JOIN = re.compile(r"[#\s\\]|/\.|\?$")  # fragments, whitespace, backslashes, dot segments, bare "?"


def origin(url: str) -> str:
    """scheme://netloc of a normalised URL."""
    slash = url.find("/", url.index("//") + 2)
    return url if slash < 0 else url[:slash]


@lru_cache(maxsize=65536)
def _absolute(url: str) -> str | None:
    return _joined(url, None)


@lru_cache(maxsize=131072)
def _relative(url: str, directory: str) -> str | None:
    return _joined(url, directory)


def _joined(url: str, base: str | None) -> str | None:
    try:
        joined = urldefrag(urljoin(base, url.strip()) if base else url.strip())[0]
        parts = urlsplit(joined)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        host = parts.hostname.lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets: http://[::1]:9/, never http://::1:9/
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()


def host(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("http", "https"):
        netloc = _NETLOC.match(rest).group(0)  # type: ignore[union-attr]
        if "@" not in netloc and "[" not in netloc:  # no user info, no IPv6 literal: the plain case
            return netloc.split(":", 1)[0].lower()
    return (urlsplit(url).hostname or "").lower()


@lru_cache(maxsize=65536)
def site(hostname: str) -> str:
    """Registrable domain (eTLD+1), the unit of scope and of resurfacing detection."""
    parts = _PSL(hostname)
    return parts.top_domain_under_public_suffix or hostname


def split_site(hostname: str) -> tuple[str, str]:
    """(label, public suffix): 'shop.example.co.uk' -> ('example', 'co.uk')."""
    parts = _PSL(hostname)
    return parts.domain, parts.suffix
