"""Synthetic P2P observation logs with planted top distributors, for tests and the benchmark.

Planted distributors share many known files, change IP daily, and some sit behind a NAT address with
ordinary peers. A decoy NAT address hides hundreds of ordinary peers that each share one known file:
ranked by IP it looks like the worst distributor; ranked by client id it is nobody in particular.
"""

from __future__ import annotations

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
