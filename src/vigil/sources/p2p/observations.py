"""Observation logs from P2P monitoring tools, one CSV row per sighting; bad rows are reported and skipped.

Columns: timestamp, ip, port, client_id (peer id / GUID, may be empty), infohash, file_hash, file_name.
"""

from __future__ import annotations

import csv
import ipaddress
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from vigil.core.errors import ItemError, VigilError

COLUMNS = ("timestamp", "ip", "port", "client_id", "infohash", "file_hash", "file_name")
HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}


class Observation(NamedTuple):
    time: datetime
    ip: str
    port: int
    client_id: str
    infohash: str
    file_hash: str
    file_name: str


def read_observations(path: Path, problems: list[ItemError]) -> Iterator[Observation]:
    """Streams rows so a 100M-row log never sits in memory; problems are appended as they are met."""
    parse, check_ip = datetime.fromisoformat, ipaddress.ip_address
    valid_ips: set[str] = set()  # monitoring logs repeat addresses; validate each once
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in ("timestamp", "ip") if c not in header]
        if missing or not {"infohash", "file_hash"} & set(header):
            raise VigilError(f"{path}: needs timestamp, ip and infohash or file_hash columns (have {header})")
        at = {c: header.index(c) if c in header else None for c in COLUMNS}

        def col(row: list[str], name: str) -> str:
            i = at[name]
            return row[i].strip() if i is not None and i < len(row) else ""

        for line, row in enumerate(reader, start=2):
            try:
                ip = col(row, "ip")
                if ip not in valid_ips:
                    check_ip(ip)
                    valid_ips.add(ip)
                infohash, file_hash = col(row, "infohash").lower(), col(row, "file_hash").lower()
                if not infohash and not file_hash:
                    raise ValueError("no infohash or file hash")
                if file_hash and len(file_hash) not in HASH_BY_LENGTH:
                    raise ValueError(f"file hash of unknown length {len(file_hash)}")
                port = col(row, "port")
                yield Observation(
                    parse(col(row, "timestamp")),
                    ip,
                    int(port) if port else 0,
                    col(row, "client_id").lower(),
                    infohash,
                    file_hash,
                    col(row, "file_name"),
                )
            except ValueError as exc:
                problems.append(ItemError(f"{path.name}:{line}", str(exc)))
