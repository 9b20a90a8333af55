"""Per-host aggregation and ranking of distributors, computed by DuckDB over the table `obs`.

A host is its client id (peer id / GUID / DHT node id) when the tool captured one, else its IP. Keying
on IP alone goes wrong twice: one subscriber on a dynamic address splits into many "hosts", and many
subscribers behind one NAT address merge into one. IPs seen with several client ids are reported as
shared.

Three more things real logs need:

* **Evidence grades**: only content a host offered (announced) or that was downloaded from it counts
  towards its rank. A host that only *queried* (a DHT crawler asking for every known info-hash) is
  listed apart and never ranked, however many known files it asked about; so are the crawlers and
  monitoring nodes a unit names.
* **Stitching**: BitTorrent clients make a new peer id at every restart, so one distributor splits into
  a host per restart. Two client ids are one host when they used the same IP and listening port within
  `stitch_gap` of each other and offered overlapping files (Jaccard >= `stitch_overlap`); the merged
  ids are kept as aliases, with the reason.
* Only per-host results and known files come back to Python; the known-list lookup runs once, over
  the distinct hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from vigil.core.errors import ItemError
from vigil.sources.p2p import observations
from vigil.sources.p2p.profiles import LogProfile
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
    ips: dict[str, tuple[datetime, int]] = field(default_factory=dict)  # ip -> (last seen, port then)
    first: datetime | None = None
    last: datetime | None = None
    observations: int = 0
    offered_files: int = 0  # distinct files it offered (announced or downloaded from it)
    queried_files: int = 0  # distinct files it only asked for
    known_observations: int = 0  # sightings of known files it offered
    known_files: set[str] = field(default_factory=set)  # known files it offered
    known_downloaded: set[str] = field(default_factory=set)  # known files downloaded from it
    known_queried: int = 0  # known files it only asked for
    known_detail: dict[str, tuple[str, dict[str, str]]] = field(
        default_factory=dict
    )  # file -> (a name, typed hashes)
    days: set[date] = field(default_factory=set)
    aliases: list[str] = field(default_factory=list)  # client ids stitched into this host

    def absorb(self, other: Host) -> None:
        """Take in a host found to be the same client under another peer id."""
        self.observations += other.observations
        self.first = min(t for t in (self.first, other.first) if t is not None)
        self.last = max(t for t in (self.last, other.last) if t is not None)
        for ip, (when, port) in other.ips.items():
            if ip not in self.ips or when > self.ips[ip][0]:
                self.ips[ip] = (when, port)
        self.offered_files = max(self.offered_files, other.offered_files)  # a lower bound of the union
        self.queried_files = max(self.queried_files, other.queried_files)
        self.known_observations += other.known_observations
        self.known_files |= other.known_files
        self.known_downloaded |= other.known_downloaded
        self.known_queried = max(self.known_queried, other.known_queried)
        self.known_detail.update(other.known_detail)
        self.days |= other.days
        self.aliases += [other.client_id, *other.aliases]


@dataclass(frozen=True)
class Stitch:
    kept: str
    merged: str
    reason: str


@dataclass
class Ranking:
    hosts: list[Host]  # distributors: offered something; crawlers and query-only hosts left out
    shared_ips: dict[str, int]  # ip -> number of distinct client ids seen behind it
    observations: int  # rows accepted
    query_only: list[Host] = field(default_factory=list)  # only asked; never ranked
    excluded: list[Host] = field(default_factory=list)  # named as crawlers or monitoring nodes
    stitched: list[Stitch] = field(default_factory=list)
    problems: list[ItemError] = field(default_factory=list)  # refused rows, with line and reason


def rank_log(
    path: Path,
    known: KnownSet,
    profile: LogProfile | None = None,
    by: str = "client",
    *,
    crawlers: Collection[str] = (),
    stitch_gap: timedelta = timedelta(hours=6),
    stitch_overlap: float = 0.3,
) -> Ranking:
    """Read a log and rank its hosts: by distinct known files offered, then downloaded-confirmed,
    known sightings and active days; query-only hosts and the named crawlers are listed apart."""
    con = observations.load(path, profile)
    try:
        return _rank(con, path, known, by, crawlers, stitch_gap, stitch_overlap)
    finally:
        con.close()


def _rank(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    known: KnownSet,
    by: str,
    crawlers: Collection[str],
    stitch_gap: timedelta,
    stitch_overlap: float,
) -> Ranking:
    key = "CASE WHEN client <> '' THEN client ELSE ip END" if by == "client" else "ip"
    con.execute(f"CREATE TEMP VIEW ok AS SELECT *, {key} AS host FROM obs WHERE reason IS NULL")
    pairs = con.execute(
        "SELECT DISTINCT info_kind, info_hex FROM ok WHERE info_hex IS NOT NULL "
        "UNION SELECT DISTINCT file_kind, file_hex FROM ok WHERE file_hex IS NOT NULL"
    ).fetchall()
    found = known({(str(k), str(v)) for k, v in pairs})
    con.execute(
        "CREATE TEMP TABLE known AS SELECT unnest(?) AS kind, unnest(?) AS hex",
        [[k for k, _ in found], [v for _, v in found]],
    )
    con.execute(
        # two equi-joins: an OR in one join condition would make a nested loop over every row
        "CREATE TEMP TABLE known_keys AS "
        "SELECT o.file_key FROM ok o JOIN known k ON k.kind = o.info_kind AND k.hex = o.info_hex "
        "UNION SELECT o.file_key FROM ok o JOIN known k ON k.kind = o.file_kind AND k.hex = o.file_hex"
    )
    hosts = _hosts(con, by)
    _known_stats(con, hosts)
    stitched = _stitch(con, hosts, stitch_gap, stitch_overlap) if by == "client" else []
    shared = dict(
        con.execute(
            "SELECT ip, count(DISTINCT client) FROM ok WHERE client <> '' "
            "GROUP BY ip HAVING count(DISTINCT client) > 1"
        ).fetchall()
    )
    count = int(con.execute("SELECT count(*) FROM ok").fetchone()[0])  # type: ignore[index]
    ranked, query_only, excluded = [], [], []
    crawler_names = {c.strip().lower() for c in crawlers}
    for host in hosts.values():
        if crawler_names & {host.key, host.client_id, *host.aliases, *host.ips}:
            excluded.append(host)
        elif not host.offered_files:
            query_only.append(host)
        else:
            ranked.append(host)

    def order(h: Host) -> tuple[int, int, int, int, str]:
        return (-len(h.known_files), -len(h.known_downloaded), -h.known_observations, -len(h.days), h.key)

    query_only.sort(key=lambda h: (-h.known_queried, h.key))
    return Ranking(
        sorted(ranked, key=order),
        shared,
        count,
        query_only,
        excluded,
        stitched,
        observations.problems(con, path),
    )


def _hosts(con: duckdb.DuckDBPyConnection, by: str) -> dict[str, Host]:
    hosts: dict[str, Host] = {}
    for key, client, n, first, last, days, offered, queried in con.execute(
        "SELECT host, max(client), count(*), min(t), max(t), list(DISTINCT CAST(t AS DATE)), "
        "count(DISTINCT file_key) FILTER (WHERE grade <> 'queried'), "
        "count(DISTINCT file_key) FILTER (WHERE grade = 'queried') FROM ok GROUP BY host"
    ).fetchall():
        hosts[key] = Host(
            key,
            client if by == "client" and client == key else "",
            first=first,
            last=last,
            observations=n,
            offered_files=offered,
            queried_files=queried,
            days=set(days),
        )
    for key, ip, last, port in con.execute(
        "SELECT host, ip, max(t), arg_max(port, t) FROM ok GROUP BY host, ip"
    ).fetchall():
        hosts[key].ips[ip] = (last, port)
    return hosts


def _known_stats(con: duckdb.DuckDBPyConnection, hosts: dict[str, Host]) -> None:
    detail: dict[str, tuple[str, dict[str, str]]] = {}
    for key, name, info_kind, info_hex, file_kind, file_hex in con.execute(
        "SELECT o.file_key, first(o.name), first(o.info_kind), first(o.info_hex), first(o.file_kind), "
        "first(o.file_hex) FROM ok o JOIN known_keys k USING (file_key) GROUP BY o.file_key"
    ).fetchall():
        typed = {k: v for k, v in ((info_kind, info_hex), (file_kind, file_hex)) if k and v}
        detail[key] = (name, typed)
    for key, offered, downloaded, sightings, queried in con.execute(
        "SELECT o.host, list(DISTINCT o.file_key) FILTER (WHERE o.grade <> 'queried'), "
        "list(DISTINCT o.file_key) FILTER (WHERE o.grade = 'downloaded'), "
        "count(*) FILTER (WHERE o.grade <> 'queried'), "
        "count(DISTINCT o.file_key) FILTER (WHERE o.grade = 'queried') "
        "FROM ok o JOIN known_keys k USING (file_key) GROUP BY o.host"
    ).fetchall():
        host = hosts[key]
        host.known_files = set(offered or [])
        host.known_downloaded = set(downloaded or [])
        host.known_observations = sightings
        host.known_queried = queried
        host.known_detail = {f: detail[f] for f in host.known_files}


def _stitch(
    con: duckdb.DuckDBPyConnection, hosts: dict[str, Host], gap: timedelta, overlap: float
) -> list[Stitch]:
    """Merge client ids that used one endpoint (IP and listening port) within `gap` of each other
    and offered overlapping files: one client restarted with a new peer id."""
    candidates = con.execute(
        """
        WITH ep AS (
            SELECT host, ip, port, min(t) AS f, max(t) AS l FROM ok
            WHERE client <> '' AND port > 0 GROUP BY host, ip, port
        ), pairs AS (
            SELECT a.host AS a, b.host AS b, min(a.ip || ':' || a.port) AS endpoint FROM ep a JOIN ep b
            ON a.ip = b.ip AND a.port = b.port AND a.host < b.host
            WHERE b.f - a.l <= ? AND a.f - b.l <= ? GROUP BY a.host, b.host
        ), offered AS (
            SELECT DISTINCT host, file_key FROM ok WHERE grade <> 'queried'
        ), shared AS (
            SELECT p.a, p.b, p.endpoint, count(*) AS common FROM pairs p
            JOIN offered x ON x.host = p.a JOIN offered y ON y.host = p.b AND y.file_key = x.file_key
            GROUP BY p.a, p.b, p.endpoint
        )
        SELECT a, b, endpoint, common FROM shared ORDER BY a, b
        """,
        [gap, gap],
    ).fetchall()
    parent = {key: key for key in hosts}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    out = []
    for a, b, endpoint, common in candidates:
        union = hosts[a].offered_files + hosts[b].offered_files - common
        similarity = common / union if union else 0.0
        if similarity < overlap or root(a) == root(b):
            continue
        kept, merged = sorted((root(a), root(b)), key=lambda k: (hosts[k].first, k))
        parent[merged] = kept
        out.append(Stitch(kept, merged, f"{endpoint} within {gap}, files {similarity:.0%} alike"))
    for key in sorted(hosts, key=lambda k: (hosts[k].first, k), reverse=True):
        top = root(key)
        if top != key:
            hosts[top].absorb(hosts.pop(key))
    return out


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
