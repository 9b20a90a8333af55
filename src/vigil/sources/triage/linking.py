"""Duplicates merged, then reports linked into cases by what they share.

Links: a file hash, an account, an e-mail, or the same IP within a time window. Two guards keep cases
from swallowing strangers: an IP in a VPN/hosting/CGNAT range never links, and a hash on more than
`max_hash_fanout` reports is widely circulating material (many unrelated people hold it), so it is noted
but does not link.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from math import comb

from vigil.sources.triage.ipinfo import RangeTable
from vigil.sources.triage.model import IncomingReport

PLACEHOLDERS = {"", "unknown", "n/a", "none", "null", "anonymous", "-"}


@dataclass(frozen=True)
class LinkConfig:
    ip_window: timedelta = timedelta(hours=1)
    max_hash_fanout: int = 25


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    reason: str  # e.g. "hash sha256:ab12...", "account x", "ip 1.2.3.4 within 1:00:00"


@dataclass
class Linked:
    duplicate_of: dict[int, int]  # report index -> index of the report it repeats
    cases: list[list[int]]  # report indices per case (canonical reports and their duplicates)
    links: list[Link] = field(default_factory=list)
    widespread_hashes: set[str] = field(default_factory=set)

    def case_of(self) -> dict[int, int]:
        return {r: c for c, members in enumerate(self.cases) for r in members}


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def link_reports(
    reports: Sequence[IncomingReport], shared: RangeTable | None = None, config: LinkConfig | None = None
) -> Linked:
    config = config or LinkConfig()
    first_with: dict[str, int] = {}
    duplicate_of: dict[int, int] = {}
    for i, r in enumerate(reports):
        key = r.content_key()
        if key in first_with:
            duplicate_of[i] = first_with[key]
        else:
            first_with[key] = i
    canonical = [i for i in range(len(reports)) if i not in duplicate_of]
    keyed: dict[str, list[int]] = defaultdict(list)
    by_ip: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for i in canonical:
        r = reports[i]
        keys = {f"hash {kind}:{value}" for f in r.files for kind, value in f.hashes.items()}
        keys |= {f"account {r.esp.lower()}/{a.lower()}" for a in r.accounts if a.lower() not in PLACEHOLDERS}
        keys |= {f"email {e}" for e in r.emails if e not in PLACEHOLDERS}
        for key in keys:
            keyed[key].append(i)
        for e in r.ip_events:
            if (
                e.time is not None
                and not e.possible_proxy
                and (shared is None or shared.lookup(e.ip) is None)
            ):
                by_ip[e.ip].append((e.time.timestamp(), i))
    union = _Union(len(reports))
    out = Linked(duplicate_of, [])
    for key, members in keyed.items():
        if key.startswith("hash ") and len(members) > config.max_hash_fanout:
            out.widespread_hashes.add(key[5:])
            continue
        for other in members[1:]:
            if union.union(members[0], other):
                out.links.append(Link(members[0], other, key))
    window = config.ip_window.total_seconds()
    for ip, events in by_ip.items():
        events.sort()
        for (t0, a), (t1, b) in itertools.pairwise(events):
            if t1 - t0 <= window and a != b and union.union(a, b):
                out.links.append(Link(a, b, f"ip {ip} within {config.ip_window}"))
    for dup, original in duplicate_of.items():
        union.union(original, dup)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(reports)):
        groups[union.find(i)].append(i)
    out.cases = sorted(groups.values(), key=lambda m: m[0])
    return out


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    predicted_pairs: int
    true_pairs: int


def pair_scores(predicted: Sequence[int], truth: Sequence[int]) -> PairScores:
    """Pairwise precision/recall of a clustering: of report pairs put together, how many belong together."""
    cells: dict[tuple[int, int], int] = defaultdict(int)
    pred_sizes: dict[int, int] = defaultdict(int)
    true_sizes: dict[int, int] = defaultdict(int)
    for p, t in zip(predicted, truth, strict=True):
        cells[(p, t)] += 1
        pred_sizes[p] += 1
        true_sizes[t] += 1
    together = sum(comb(n, 2) for n in cells.values())
    pred_pairs = sum(comb(n, 2) for n in pred_sizes.values())
    true_pairs = sum(comb(n, 2) for n in true_sizes.values())
    return PairScores(
        together / pred_pairs if pred_pairs else 1.0,
        together / true_pairs if true_pairs else 1.0,
        pred_pairs,
        true_pairs,
    )
