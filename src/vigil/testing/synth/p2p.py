"""Synthetic P2P observation logs with planted top distributors, for tests and the benchmark.

Planted distributors share many known files, change IP daily, and some sit behind a NAT address with
ordinary peers. A decoy NAT address hides hundreds of ordinary peers that each share one known file:
ranked by IP it looks like the worst distributor; ranked by client id it is nobody in particular.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class SyntheticP2P:
    rows: int
    planted: list[str]  # client ids of the planted top distributors, most known files first
    known_btih: list[str]
    known_sha1: list[str]
    decoy_ip: str


def _h(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def write_observations(
    path: Path, rows: int = 1_000_000, planted: int = 10, known_files: int = 2000, seed: int = 0
) -> SyntheticP2P:
    rng = random.Random(seed)
    known = [(_h(f"k-info{i}"), _h(f"k-file{i}")) for i in range(known_files)]
    # Half the known list is by info-hash, half by file hash: both must match.
    known_btih = [k[0] for k in known[: known_files // 2]]
    known_sha1 = [k[1] for k in known[known_files // 2 :]]
    nat_ips = [f"100.70.{i}.1" for i in range(planted)]
    decoy_ip = "198.51.100.77"
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("timestamp,ip,port,client_id,infohash,file_hash,file_name\n")

        def emit(when: datetime, ip: str, client: str, info: str, sha1: str, name: str) -> None:
            nonlocal written
            out.write(
                f"{when.isoformat(timespec='seconds')},{ip},{rng.randint(1024, 65535)},"
                f"{client},{info},{sha1},{name}\n"
            )
            written += 1

        planted_ids = [_h(f"planted{p}")[:32] for p in range(planted)]
        for p, client in enumerate(planted_ids):
            files = rng.sample(known, 120 - 6 * p)  # distinct counts, so the expected order is known
            for day in range(30):
                ip = nat_ips[p] if p % 3 == 0 else f"192.0.2.{(p * 30 + day) % 250 + 1}"
                for info, sha1 in rng.sample(files, 40):
                    emit(
                        START + timedelta(days=day, seconds=rng.randrange(86400)),
                        ip,
                        client,
                        info,
                        sha1,
                        "x.mkv",
                    )
        for d in range(300):  # decoy NAT: 300 ordinary peers, one known file each
            info, sha1 = rng.choice(known)
            emit(
                START + timedelta(seconds=rng.randrange(30 * 86400)),
                decoy_ip,
                _h(f"decoy{d}")[:32],
                info,
                sha1,
                "holiday.mkv",
            )
        peer = 0
        while written < rows:
            peer += 1
            client = _h(f"peer{peer}")[:32]
            ips = [
                f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                for _ in range(rng.randint(1, 3))
            ]
            if rng.random() < 0.05:
                ips = [nat_ips[rng.randrange(planted)]]  # ordinary peers behind the planted NATs
            sightings = rng.randint(10, 90)
            for _ in range(sightings):
                when = START + timedelta(seconds=rng.randrange(30 * 86400))
                if rng.random() < 0.01:
                    info, sha1 = rng.choice(known)
                else:
                    n = rng.randrange(200_000)
                    info, sha1 = _h(f"u-info{n}"), _h(f"u-file{n}")
                emit(when, rng.choice(ips), client, info, sha1, f"file{rng.randrange(1000)}.mkv")
    return SyntheticP2P(written, planted_ids, known_btih, known_sha1, decoy_ip)


@dataclass
class SyntheticDht:
    rows: int
    planted: list[str]  # each planted distributor's first node id, most known files first
    planted_ids: list[list[str]]  # every node id each distributor used (they rotate at restarts)
    crawler: str  # a node that only queries (get_peers) hundreds of known info-hashes
    known_btih: list[str]
    junk_rows: int  # rows whose info_hash is no hash at all


def write_dht_log(
    path: Path, rows: int = 200_000, planted: int = 5, known_files: int = 1000, seed: int = 0
) -> SyntheticDht:
    """A DHT crawler's log (`ts,msg,node_id,info_hash,ip,port`, epoch seconds): planted distributors
    change IP daily, keep their listening port and restart every 2-4 days with a new node id; a
    crawler node asks for 400 known info-hashes and offers nothing; ordinary peers announce a few
    files each. Info-hashes come as hex, base32 and magnet URIs; a few rows carry junk."""
    rng = random.Random(seed)
    known = [_h(f"dht-known{i}") for i in range(known_files)]
    written = junk = 0
    ids: list[list[str]] = []
    with path.open("w", encoding="utf-8") as out:
        out.write("ts,msg,node_id,info_hash,ip,port\n")

        def spell(infohash: str) -> str:
            form = rng.random()
            if form < 0.1:
                return base64.b32encode(bytes.fromhex(infohash)).decode()
            if form < 0.2:
                return f"magnet:?xt=urn:btih:{infohash}&dn=file"
            return infohash.upper() if form < 0.3 else infohash

        def emit(when: datetime, msg: str, node: str, infohash: str, ip: str, port: int) -> None:
            nonlocal written
            out.write(f"{int(when.timestamp())},{msg},{node},{spell(infohash)},{ip},{port}\n")
            written += 1

        for p in range(planted):
            files = rng.sample(known, 150 - 20 * p)
            port = 6881 + p
            node, used = _h(f"node{p}-0")[:40], []
            restart = rng.randint(2, 4) * 86400 + rng.randrange(3600, 80000)  # mid-day: same IP, new id
            used.append(node)
            for second in range(0, 30 * 86400, 600):  # a sighting every 10 minutes for 30 days
                if second >= restart:
                    node = _h(f"node{p}-{len(used)}")[:40]
                    used.append(node)
                    restart += rng.randint(2, 4) * 86400
                ip = f"198.18.{p}.{(second // 86400) % 250 + 1}"  # a new address every day
                msg = "download" if rng.random() < 0.05 else "announce_peer"
                emit(START + timedelta(seconds=second), msg, node, rng.choice(files), ip, port)
            ids.append(used)
        crawler = _h("crawler")[:40]
        for i, infohash in enumerate(rng.sample(known, 400)):
            emit(START + timedelta(seconds=i * 60), "get_peers", crawler, infohash, "203.0.113.9", 40000)
        peer = 0
        while written < rows:
            peer += 1
            node = _h(f"peer{peer}")[:40]
            ip, port = (
                f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                rng.randrange(1024, 65536),
            )
            for _ in range(rng.randint(5, 40)):
                when = START + timedelta(seconds=rng.randrange(30 * 86400))
                infohash = rng.choice(known) if rng.random() < 0.01 else _h(f"other{rng.randrange(100_000)}")
                emit(when, rng.choice(("announce_peer", "get_peers", "get_peers")), node, infohash, ip, port)
            if rng.random() < 0.002:
                out.write(f"{int(START.timestamp())},announce_peer,{node},not-a-hash-at-all,{ip},{port}\n")
                written += 1
                junk += 1
    return SyntheticDht(written, [i[0] for i in ids], ids, crawler, known, junk)
