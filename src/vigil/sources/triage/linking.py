"""Duplicates merged, then reports linked into cases by what they share.

Links: a file hash, an account (scoped to its service), an e-mail, a phone, or the same IP within a
time window. Real data brings strangers that share these, so each kind has guards:

* **Identifiers** are compared in canonical form (case, spaces, +tags, provider dots; see
  `identifiers`), placeholders (`[deleted]`, `0`, `unknown`) never link, and an identifier on more
  reports than its kind's spread limit is a pattern, not a person: it is noted, not used.
* **Files** the reporting service flagged as meme, viral or publicly available, anywhere in the
  batch, never link; nor do hashes the unit lists as widely seen, nor a hash on more than
  `max_hash_fanout` reports or from more than `max_hash_services` services (circulating material).
  A file on three or more reports but below those limits may be one person's series or a meme
  nobody flagged: it links only a report that nothing else has placed in a case yet, after every
  stronger link is made, and is otherwise suggested (so one unflagged meme cannot chain whole
  cases together); above `auto_hash_reports` it is only suggested.
* **IP addresses** in VPN, hosting or carrier-NAT ranges never link on their own. Neither does an
  address the data itself shows to be shared: seen in `shared_ip_sessions` or more separate sessions
  (events more than the IP window apart) of different reports within `shared_ip_period` (the public
  side of a carrier NAT, which no range list knows). On a shared
  address two events link only when both carry the same source port within the window: that pair
  names one subscriber.
* One-character variants of an e-mail or account are **suggested** links (`Linked.suggested`) for a
  person to confirm; they never merge cases by themselves.

Every link keeps its reason.
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from math import comb

from vigil.sources.triage import identifiers as ids
from vigil.sources.triage.ipinfo import RangeTable
from vigil.sources.triage.model import IncomingReport, IpEvent

MEME_ANNOTATIONS = frozenset({"potentialMeme", "viral", "publiclyAvailable"})


@dataclass(frozen=True)
class LinkConfig:
    ip_window: timedelta = timedelta(hours=1)
    max_hash_fanout: int = 25
    max_hash_services: int = 3  # a file from more services than this is circulating, not one person's
    auto_hash_reports: int = 4  # a file on more reports than this is only suggested
    weak_join_limit: int = 8  # a file on 3+ reports links only while the joined case stays this small
    max_identifier_fanout: int = 20  # accounts, e-mails, phones on more reports than this do not link
    shared_ip_sessions: int = 5  # an IP seen in this many separate sessions of different reports...
    shared_ip_period: timedelta = timedelta(days=30)  # ...within this period is shared (carrier NAT)
    widely_seen: frozenset[str] = frozenset()  # "type:value" hashes the unit lists as circulating


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    reason: str  # e.g. "hash sha256:ab12...", "email x@y", "ip 1.2.3.4 within 1:00:00"


@dataclass
class Linked:
    duplicate_of: dict[int, int]  # report index -> index of the report it repeats
    cases: list[list[int]]  # report indices per case (canonical reports and their duplicates)
    links: list[Link] = field(default_factory=list)
    widespread_hashes: set[str] = field(default_factory=set)
    widespread_identifiers: set[str] = field(default_factory=set)
    shared_ips: set[str] = field(default_factory=set)  # found shared from the data itself
    suggested: list[Link] = field(default_factory=list)  # near-identical identifiers, for a person

    def case_of(self) -> dict[int, int]:
        return {r: c for c, members in enumerate(self.cases) for r in members}


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        low, high = min(ra, rb), max(ra, rb)
        self.parent[high] = low
        self.size[low] += self.size[high]
        return True

    def size_of(self, x: int) -> int:
        return self.size[self.find(x)]


def _identifier_keys(r: IncomingReport) -> set[str]:
    keys = {f"account {k}" for a in r.accounts if (k := ids.canonical_account(r.esp, a))}
    keys |= {f"email {k}" for e in r.emails if (k := ids.canonical_email(e))}
    keys |= {f"phone {k}" for p in r.phones if (k := ids.canonical_phone(p))}
    return keys


def _memes(reports: Sequence[IncomingReport], canonical: Sequence[int]) -> set[str]:
    """Hashes of every file a service flagged as meme, viral or publicly available, on any report."""
    return {
        f"{kind}:{value}"
        for i in canonical
        for f in reports[i].files
        if MEME_ANNOTATIONS.intersection(f.annotations)
        for kind, value in f.hashes.items()
    }


def shared_ips(
    events: dict[str, list[tuple[float, int, IpEvent]]], sessions: int, period: timedelta, gap: timedelta
) -> set[str]:
    """Addresses used in `sessions` or more separate sessions within any `period`. A session is a
    run of events less than `gap` apart; one that only repeats the reports of the session before
    does not count. One person's burst of reports is one session; a carrier NAT's address shows
    new people day after day."""
    span, pause = period.total_seconds(), gap.total_seconds()
    out = set()
    for ip, seen in events.items():  # each list sorted by time
        starts: deque[float] = deque()
        last_time, last_reports, current = -float("inf"), frozenset[int](), set[int]()
        for t, i, _ in seen:
            if t - last_time > pause:
                if current and not current <= last_reports:
                    starts.append(last_time)
                last_reports, current = frozenset(current), set()
            current.add(i)
            last_time = t
            while starts and starts[0] < t - span:
                starts.popleft()
            if len(starts) + 1 >= sessions:
                out.add(ip)
                break
    return out


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
    memes = _memes(reports, canonical) | config.widely_seen
    keyed: dict[str, list[int]] = defaultdict(list)
    services: dict[str, set[str]] = defaultdict(set)
    by_ip: dict[str, list[tuple[float, int, IpEvent]]] = defaultdict(list)
    for i in canonical:
        r = reports[i]
        hashes = {f"{kind}:{value}" for f in r.files for kind, value in f.hashes.items()}
        for key in hashes - memes:
            keyed[f"hash {key}"].append(i)
            services[key].add(r.esp)
        for key in _identifier_keys(r):
            keyed[key].append(i)
        for e in r.ip_events:
            if (
                e.time is not None
                and not e.possible_proxy
                and (shared is None or shared.lookup(e.ip) is None)
            ):
                by_ip[e.ip].append((e.time.timestamp(), i, e))
    union = _Union(len(reports))
    out = Linked(duplicate_of, [])
    weak: list[tuple[str, list[int]]] = []
    for key, members in keyed.items():
        members = sorted(set(members))
        if key.startswith("hash "):
            value = key[5:]
            if len(members) > config.max_hash_fanout or len(services[value]) > config.max_hash_services:
                out.widespread_hashes.add(value)
                continue
            if len(members) > 2:
                weak.append((key, members))
                continue
        elif len(members) > config.max_identifier_fanout:
            out.widespread_identifiers.add(key)
            continue
        for other in members[1:]:
            if union.union(members[0], other):
                out.links.append(Link(members[0], other, key))
    _link_ips(by_ip, config, union, out)
    for key, members in weak:  # after every stronger link, so a case's size is known
        label = f"{key} (on {len(members)} reports)"
        for other in members[1:]:
            joins_cases = union.size_of(members[0]) + union.size_of(other) > config.weak_join_limit
            if len(members) > config.auto_hash_reports or joins_cases:
                if union.find(members[0]) != union.find(other):
                    out.suggested.append(Link(members[0], other, label))
            elif union.union(members[0], other):
                out.links.append(Link(members[0], other, label))
    _suggest(keyed, union, out)
    for dup, original in duplicate_of.items():
        union.union(original, dup)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(reports)):
        groups[union.find(i)].append(i)
    out.cases = sorted(groups.values(), key=lambda m: m[0])
    return out


def _link_ips(
    by_ip: dict[str, list[tuple[float, int, IpEvent]]], config: LinkConfig, union: _Union, out: Linked
) -> None:
    for events in by_ip.values():
        events.sort(key=lambda x: (x[0], x[1]))
    out.shared_ips = shared_ips(by_ip, config.shared_ip_sessions, config.shared_ip_period, config.ip_window)
    window = config.ip_window.total_seconds()
    for ip, events in by_ip.items():
        if ip in out.shared_ips:
            by_port: dict[int, list[tuple[float, int, IpEvent]]] = defaultdict(list)
            for event in events:
                if event[2].port is not None:
                    by_port[event[2].port].append(event)
            streams = [(f"ip {ip} port {port}", seen) for port, seen in by_port.items()]
        else:
            streams = [(f"ip {ip}", events)]
        for label, seen in streams:
            for (t0, a, _), (t1, b, _) in itertools.pairwise(seen):
                if t1 - t0 <= window and a != b and union.union(a, b):
                    out.links.append(Link(a, b, f"{label} within {config.ip_window}"))


def _suggest(keyed: dict[str, list[int]], union: _Union, out: Linked) -> None:
    """One-edit variants of e-mails and accounts between reports not already in one case."""
    for kind in ("email", "account"):
        values = [k[len(kind) + 1 :] for k in keyed if k.startswith(kind + " ")]
        for a, b in ids.near(values):
            left, right = keyed[f"{kind} {a}"], keyed[f"{kind} {b}"]
            if union.find(left[0]) != union.find(right[0]):
                out.suggested.append(Link(left[0], right[0], f"{kind} {a} ~ {b} (one character apart)"))


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
