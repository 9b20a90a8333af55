"""URL normalisation and site identity: the registrable domain by the Public Suffix List, from the copy
bundled with `publicsuffixlist` (ICANN and private sections; nothing is downloaded)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache
from importlib import resources
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from publicsuffixlist import PublicSuffixList

DEFAULT_PORTS = {"http": 80, "https": 443}


@lru_cache(maxsize=2)
def _suffixes(only_icann: bool = False) -> PublicSuffixList:
    """The list, parsed on first use (50 ms and a few MiB each; a crawl scoped to its hosts never
    asks). Without `only_icann`, both sections: blogspot.com, cloudfront.net... are suffixes."""
    return PublicSuffixList(only_icann=only_icann)


def normalise(url: str, base: str | None = None) -> str | None:
    """Absolute, fragment-free, lowercase scheme and host, no default port; None if not http(s).

    `base` must itself be normalised (the crawler only passes URLs it normalised).
    """
    if not url.isascii() and not _is_text(url):
        return None  # a lone surrogate (undecodable bytes kept by a decoder): no store or server takes it
    if "#" in url:  # the fragment first: same-page anchors are a fifth of a documentation site's links,
        head = url[: url.index("#")]  # and without theirs, the other links share one memo entry
        if not head[-1:].isspace():  # (a space before the "#" is part of the path, as urljoin has it)
            url = head
            if base is not None and not url.strip():
                return _absolute(base)  # "#top": the page itself
    if base is not None and url.startswith("/") and not url.startswith("//") and not _NEEDS_JOIN.search(url):
        return origin(base) + url  # the common root-relative link, without urljoin's cost
    if base is None or url.startswith(("http://", "https://")):
        return _absolute(url)
    if url and url[0] not in "/?# \t\r\n\f" and ":" not in url.split("/", 1)[0]:
        # A relative path resolves against the base's directory alone (RFC 3986 5.2.3), and a site
        # repeats the same relative links on thousands of pages of one directory: memoised.
        return _relative(url, base[: base.rfind("/") + 1])
    return _joined(url, base)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_NETLOC = re.compile(r"[^/?#]*")
_NEEDS_JOIN = re.compile(r"[\s\\]|/\.|\?$")  # whitespace, backslashes, dot segments, a bare "?"


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


def _is_address(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def site(hostname: str) -> str:
    """Registrable domain (eTLD+1), the unit of scope and of resurfacing detection. An address, a
    single label or a suffix itself is its own site. An unknown TLD counts as a one-label suffix
    (the PSL's default rule)."""
    if not hostname or _is_address(hostname):
        return hostname
    return _suffixes().privatesuffix(hostname) or hostname


def split_site(hostname: str) -> tuple[str, str]:
    """(label, public suffix): 'shop.example.co.uk' -> ('example', 'co.uk')."""
    if _is_address(hostname):
        return "", ""
    suffix = _suffixes().publicsuffix(hostname) or ""
    registrable = _suffixes().privatesuffix(hostname)
    if not registrable:
        return "", suffix
    return registrable[: -len(suffix) - 1].rsplit(".", 1)[-1], suffix


def suffix_kind(name: str) -> str | None:
    """'icann' or 'private' when `name` is itself a public suffix (a TLD, or a platform such as
    blogspot.com whose tenants are unrelated), else None."""
    if _suffixes(only_icann=True).is_public(name):
        return "icann"
    if _suffixes().is_public(name):
        return "private"
    return None


@lru_cache(maxsize=1)
def icann_suffixes() -> tuple[str, ...]:
    """Every suffix rule in the ICANN section of the bundled list (wildcards and exceptions left out)."""
    text = (resources.files("publicsuffixlist") / "public_suffix_list.dat").read_text(encoding="utf-8")
    section = text.split("===BEGIN ICANN DOMAINS===", 1)[1].split("===END ICANN DOMAINS===", 1)[0]
    rules = (line.strip() for line in section.splitlines())
    return tuple(r for r in rules if r and not r.startswith(("//", "*", "!")))
