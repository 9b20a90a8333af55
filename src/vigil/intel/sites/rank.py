"""Rank candidate sites against a known one, one score per channel, for human review.

Template engines make unrelated sites look alike: same navigation, footer, DOM and boilerplate. What
counts as boilerplate is learned from the known site's own pages (text on nearly every one of its pages
is its template) and from an optional `background` corpus of unrelated sites (what more than `common`
of them share), never from the candidates: three mirrors of the known site among the candidates share
its text, and that text is exactly the evidence. DOM similarity counts only above what the candidates
share anyway (their median: a few mirrors do not move it), and an IP shared by many candidates counts
for nothing. Text similarity uses MinHash signatures, so fingerprints stay small and fast to compare.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vigil.intel.sites.fingerprint import SiteFingerprint
from vigil.signals.pdq import hamming

PRIME = 4294967311  # > 2^32, so (a*x + b) stays below 2^64 for 32-bit shingles
PERMUTATIONS = 128
WEIGHTS = {"text": 0.35, "phrases": 0.15, "title": 0.10, "logo": 0.20, "dom": 0.10, "hosting": 0.10}
_RNG = np.random.default_rng(20261125)
_A = _RNG.integers(1, 2**32 - 1, PERMUTATIONS, dtype=np.uint64)
_B = _RNG.integers(0, 2**32 - 1, PERMUTATIONS, dtype=np.uint64)


def minhash(shingles: Iterable[int]) -> np.ndarray | None:
    values = np.fromiter(shingles, dtype=np.uint64)
    if values.size == 0:
        return None
    signature: np.ndarray = ((np.outer(values, _A) + _B) % np.uint64(PRIME)).min(axis=0)
    return signature


def minhash_similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    return 0.0 if a is None or b is None else float(np.mean(a == b))


def _jaccard(a: set[int] | set[str], b: set[int] | set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class Ranked:
    domain: str
    score: float
    channels: dict[str, float]


def _rare(values: list[set[int]] | list[set[str]], common: float) -> set[Any]:
    """What more than `common` of the given sites share (nothing when there are none)."""
    if not values:
        return set()
    df: Counter[int | str] = Counter(v for s in values for v in s)
    limit = max(2, int(common * len(values)))
    return {v for v, n in df.items() if n > limit}


def rank(
    known: SiteFingerprint,
    candidates: Sequence[SiteFingerprint],
    common: float = 0.1,
    background: Sequence[SiteFingerprint] = (),
) -> list[Ranked]:
    template_shingles, template_phrases = known.template()
    drop_shingles = template_shingles | _rare([f.shingles for f in background], common)
    drop_titles = _rare([f.title_words for f in background], common)
    drop_phrases = template_phrases | _rare([f.phrases for f in background], common)
    shared_ips = {
        ip
        for ip, n in Counter(ip for f in candidates for ip in f.ips).items()
        if n > max(2, common * len(candidates))
    }
    known_sig = minhash(known.shingles - drop_shingles)
    dom_raw = [_jaccard(known.tag_grams, c.tag_grams) for c in candidates]
    dom_floor = statistics.median(dom_raw) if dom_raw else 0.0
    out = []
    for c, dom in zip(candidates, dom_raw, strict=True):
        logo = 0.0
        if known.logo_pdq and c.logo_pdq:
            logo = max(0.0, 1.0 - hamming(known.logo_pdq, c.logo_pdq) / 64)
        hosting = (
            1.0
            if (known.tls_sha256 and known.tls_sha256 == c.tls_sha256)
            else (1.0 if (known.ips & c.ips) - shared_ips else 0.0)
        )
        channels = {
            "text": minhash_similarity(known_sig, minhash(c.shingles - drop_shingles)),
            "phrases": _overlap(known.phrases - drop_phrases, c.phrases - drop_phrases),
            "title": _jaccard(known.title_words - drop_titles, c.title_words - drop_titles),
            "logo": logo,
            "dom": max(0.0, (dom - dom_floor) / (1 - dom_floor)) if dom_floor < 1 else 0.0,
            "hosting": hosting,
        }
        out.append(Ranked(c.domain, sum(WEIGHTS[k] * v for k, v in channels.items()), channels))
    out.sort(key=lambda r: -r.score)
    return out


def _overlap(a: set[int], b: set[int]) -> float:
    """Overlap coefficient: a re-hosted site often keeps a subset of the original's phrases."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
