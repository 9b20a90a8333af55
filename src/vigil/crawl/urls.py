"""URL normalisation and site identity (registrable domain from tldextract's bundled suffix list)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

import tldextract

_PSL = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(url: str, base: str | None = None) -> str | None:
    """Absolute, fragment-free, lowercase scheme and host, no default port; None if not http(s)."""
    try:
        joined = urldefrag(urljoin(base, url.strip()) if base else url.strip())[0]
        parts = urlsplit(joined)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        host = parts.hostname.lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()


def host(url: str) -> str:
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
