"""Per-host aggregation and ranking of distributors.

A host is its client id (peer id / GUID) when the tool captured one, else its IP. Keying on IP alone
goes wrong twice: one subscriber on a dynamic address splits into many "hosts", and many subscribers
behind one NAT address merge into one. IPs seen with several client ids are reported as shared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from vigil.sources.p2p.observations import HASH_BY_LENGTH, Observation
from vigil.store.db import Store
from vigil.store.repo import lists

# (hash type, value) pairs in, the subset that is on a known list out.
KnownSet = Callable[[set[tuple[str, str]]], set[tuple[str, str]]]


def known_lookup(store: Store) -> KnownSet:
    """Which sighted hashes are on a `known` list of this store (ignore lists do not count)."""

    def lookup(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        with store.session() as tx:
            return lists.on_known_lists(tx, pairs)

    return lookup


@dataclass
class Host:
    key: str
    client_id: str
    ips: dict[str, tuple[datetime, int]] = field(default_factory=dict)  # ip -> (last seen, port)
    first: datetime | None = None
    last: datetime | None = None
    observations: int = 0
    known_observations: int = 0
    files: set[str] = field(default_factory=set)
    known_files: set[str] = field(default_factory=set)
    known_detail: dict[str, tuple[str, dict[str, str]]] = field(
        default_factory=dict
    )  # file -> (a name, hashes)
    days: set[date] = field(default_factory=set)


@dataclass
class Ranking:
    hosts: list[Host]
    shared_ips: dict[str, int]  # ip -> number of distinct client ids seen behind it
    observations: int


def _keys(o: Observation) -> list[tuple[str, str]]:
    out = []
    if o.infohash:
        out.append(("btih", o.infohash))
    if o.file_hash:
        out.append((HASH_BY_LENGTH[len(o.file_hash)], o.file_hash))
    return out


def rank_hosts(observations: Iterable[Observation], known: KnownSet, by: str = "client") -> Ranking:
    """Hosts sorted by distinct known files shared, then known sightings, then active days.

    One streaming pass keeps per-host file counts; the list lookup runs once, batched, at the end.
    """
    hosts: dict[str, Host] = {}
    sightings: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # host -> file -> count
    detail: dict[str, tuple[str, dict[str, str]]] = {}  # file -> (first name seen, hashes)
    clients_per_ip: dict[str, set[str]] = defaultdict(set)
    count = 0
    for o in observations:
        count += 1
        key = o.client_id if by == "client" and o.client_id else o.ip
        host = hosts.get(key)
        if host is None:
            host = hosts[key] = Host(key, o.client_id if by == "client" else "", first=o.time, last=o.time)
        host.observations += 1
        last_at_ip = host.ips.get(o.ip)
        if last_at_ip is None or o.time > last_at_ip[0]:
            host.ips[o.ip] = (o.time, o.port)
        if o.time < host.first:  # type: ignore[operator]
            host.first = o.time
        elif o.time > host.last:  # type: ignore[operator]
            host.last = o.time
        host.days.add(o.time.date())
        file_key = o.infohash or o.file_hash
        sightings[key][file_key] += 1
        if file_key not in detail:
            detail[file_key] = (o.file_name, dict(_keys(o)))
        if o.client_id:
            clients_per_ip[o.ip].add(o.client_id)
    known_pairs = known({pair for _, hashes in detail.values() for pair in hashes.items()})
    known_files = {f for f, (_, hashes) in detail.items() if any(p in known_pairs for p in hashes.items())}
    for key, files in sightings.items():
        host = hosts[key]
        host.files = set(files)
        for f in host.files & known_files:
            host.known_files.add(f)
            host.known_observations += files[f]
            host.known_detail[f] = detail[f]
    ranked = sorted(
        hosts.values(), key=lambda h: (-len(h.known_files), -h.known_observations, -len(h.days), h.key)
    )
    shared = {ip: len(c) for ip, c in clients_per_ip.items() if len(c) > 1}
    return Ranking(ranked, shared, count)


def to_bundle(host: Host, network: str = "bittorrent") -> dict[str, Any]:
    """A triage intake bundle (JSON format) for one host: its addresses with times and its known files."""
    return {
        "reportId": f"P2P-{host.key}-{host.last:%Y%m%d}" if host.last else f"P2P-{host.key}",
        "esp": f"p2p:{network}",
        "incident": {
            "type": "P2P distribution (monitoring observation)",
            "dateTime": host.last.isoformat() if host.last else None,
        },
        "reported": {
            "accounts": [host.client_id] if host.client_id else [],
            "ipEvents": [
                {"ip": ip, "dateTime": t.isoformat(), "port": port or None, "event": "Observed sharing"}
                for ip, (t, port) in sorted(host.ips.items())
            ],
        },
        "files": [
            {"name": name, **hashes, "attached": False, "viewed": False}
            for name, hashes in host.known_detail.values()
        ],
        "notes": f"{host.observations} sightings ({host.known_observations} of known files) "
        f"on {len(host.days)} days, {len(host.known_files)} distinct known files",
    }
