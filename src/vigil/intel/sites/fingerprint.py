"""What a site looks like, channel by channel, from a handful of its pages.

Text (word shingles), page titles and distinctive phrases, the DOM's tag sequence, the logo or favicon
(PDQ), and hosting (IP addresses, TLS certificate). Burner sites move domains but keep most of these.
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
from collections import Counter
from dataclasses import dataclass, field

import httpx

from vigil.media.decode import decode
from vigil.signals import pdq
from vigil.web import urls
from vigil.web.fetch import get_sync
from vigil.web.parse import parse

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"[^.!?\n]{12,}")
SHINGLE = 5
TAG_GRAM = 4


@dataclass
class SiteFingerprint:
    domain: str
    pages: int = 0
    shingles: set[int] = field(default_factory=set)  # 32-bit hashes of 5-word shingles
    title_words: set[str] = field(default_factory=set)
    phrases: set[int] = field(default_factory=set)  # hashed normalised sentences
    tag_grams: set[int] = field(default_factory=set)
    logo_pdq: str | None = None
    ips: set[str] = field(default_factory=set)
    tls_sha256: str | None = None
    logo_url: str | None = None
    # On how many of the site's own pages each shingle and phrase appears: what is on (nearly) every
    # page is the site's template (navigation, footer), not its content.
    shingle_pages: Counter[int] = field(default_factory=Counter)
    phrase_pages: Counter[int] = field(default_factory=Counter)

    def template(self, share: float = 0.8) -> tuple[set[int], set[int]]:
        """(shingles, phrases) on at least `share` of this site's pages, once it has 3 or more."""
        if self.pages < 3:
            return set(), set()
        floor = max(2, share * self.pages)
        return (
            {s for s, n in self.shingle_pages.items() if n >= floor},
            {p for p, n in self.phrase_pages.items() if n >= floor},
        )


def _h(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def add_page(fp: SiteFingerprint, html_text: str) -> list[str]:
    """Fold one page into the fingerprint; returns the page's links, logo and icon candidates."""
    page = parse(html_text)
    words = _WORD.findall(page.text.lower())
    shingles = {_h(" ".join(words[i : i + SHINGLE])) for i in range(max(0, len(words) - SHINGLE + 1))}
    phrases = {_h(" ".join(_WORD.findall(s.lower()))) for s in _SENTENCE.findall(page.text)}
    fp.shingles |= shingles
    fp.shingle_pages.update(shingles)
    fp.title_words |= set(_WORD.findall(page.title.lower()))
    fp.phrases |= phrases
    fp.phrase_pages.update(phrases)
    fp.tag_grams |= {
        _h(" ".join(page.tags[i : i + TAG_GRAM])) for i in range(max(0, len(page.tags) - TAG_GRAM + 1))
    }
    fp.pages += 1
    logos = [src for src in page.images if "logo" in src.lower()]
    return page.links + ["\0logo:" + s for s in logos + page.icons]


def fingerprint_site(
    base_url: str, resolve: dict[str, str] | None = None, max_pages: int = 8
) -> SiteFingerprint:
    """Fetch the home page and up to `max_pages - 1` pages it links to on the same host."""
    start = urls.normalise(base_url)
    if start is None:
        raise ValueError(f"not an http(s) URL: {base_url}")
    host = urls.host(start)
    fp = SiteFingerprint(urls.site(host))
    queue, seen, logo = [start], {start}, None
    with httpx.Client(timeout=20.0, follow_redirects=False) as client:
        _walk(fp, host, queue, seen, resolve, max_pages, client)
        logo = fp.logo_url
        if logo:
            try:
                fp.logo_pdq = pdq.exact(
                    decode(get_sync(logo, resolve, client=client).body), dihedral=False
                ).hash_hex
            except Exception:
                fp.logo_pdq = None
    fp.ips, fp.tls_sha256 = _hosting(start, resolve or {})
    return fp


def _walk(
    fp: SiteFingerprint,
    host: str,
    queue: list[str],
    seen: set[str],
    resolve: dict[str, str] | None,
    max_pages: int,
    client: httpx.Client,
) -> None:
    while queue and fp.pages < max_pages:
        url = queue.pop(0)
        try:
            got = get_sync(url, resolve, client=client)
        except Exception:  # a dead page leaves the other channels to speak
            continue
        if got.status != 200:
            continue
        for link in add_page(fp, got.body.decode("utf-8", "replace")):
            if link.startswith("\0logo:"):
                fp.logo_url = fp.logo_url or urls.normalise(link[6:], url)
                continue
            target = urls.normalise(link, url)
            if target and urls.host(target) == host and target not in seen:
                seen.add(target)
                queue.append(target)


def _hosting(url: str, resolve: dict[str, str]) -> tuple[set[str], str | None]:
    host = urls.host(url)
    if host in resolve:
        return {resolve[host].rsplit(":", 1)[0]}, None
    try:
        ips = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        ips = set()
    cert = None
    if url.startswith("https://"):
        try:
            with (
                socket.create_connection((host, 443), timeout=10) as raw,
                ssl.create_default_context().wrap_socket(raw, server_hostname=host) as tls,
            ):
                der = tls.getpeercert(binary_form=True)
                cert = hashlib.sha256(der).hexdigest() if der else None
        except (OSError, ssl.SSLError):
            cert = None
    return ips, cert
