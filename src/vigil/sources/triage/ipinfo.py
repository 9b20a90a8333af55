"""IP range tables from user-supplied CSVs: GeoIP/ASN for jurisdiction, VPN/hosting/CGNAT for sharing.

No database ships with Vigil (licences differ; MaxMind, IPinfo and RIR exports all reduce to ranges).
A CSV has `network` (CIDR) or `start`,`end` columns plus any attributes (country, asn, org, label).
"""

from __future__ import annotations

import bisect
import csv
import ipaddress
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.errors import ItemError, VigilError

# Ranges that are shared by design; an address in them never identifies one subscriber.
BUILTIN_SHARED = {"100.64.0.0/10": "cgnat"}


@dataclass
class RangeTable:
    starts: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})
    rows: dict[int, list[tuple[int, int, dict[str, str]]]] = field(default_factory=lambda: {4: [], 6: []})
    reach: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})
    problems: list[ItemError] = field(default_factory=list)

    def add(
        self,
        first: ipaddress.IPv4Address | ipaddress.IPv6Address,
        last: ipaddress.IPv4Address | ipaddress.IPv6Address,
        info: dict[str, str],
    ) -> None:
        self.rows[first.version].append((int(first), int(last), info))

    def freeze(self) -> RangeTable:
        for version in (4, 6):
            self.rows[version].sort(key=lambda r: r[0])
            self.starts[version] = [r[0] for r in self.rows[version]]
            self.reach[version] = list(itertools.accumulate((r[1] for r in self.rows[version]), max))
        return self

    def lookup(self, ip: str) -> dict[str, str] | None:
        """The narrowest-starting range holding `ip`; overlapping ranges are allowed."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        version, value = address.version, int(address)
        rows, reach = self.rows[version], self.reach[version]
        i = bisect.bisect_right(self.starts[version], value) - 1
        while i >= 0 and reach[i] >= value:  # reach[i]: the furthest end among ranges 0..i
            first, last, info = rows[i]
            if first <= value <= last:
                return info
            i -= 1
        return None

    def __len__(self) -> int:
        return len(self.rows[4]) + len(self.rows[6])


def load_ranges(path: Path) -> RangeTable:
    table = RangeTable()
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise VigilError(f"cannot read {path}: {exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or [])
        if "network" not in fields and not {"start", "end"} <= fields:
            raise VigilError(f"{path}: needs a network column, or start and end columns")
        for line, row in enumerate(reader, start=2):
            info = {k: v for k, v in row.items() if k not in ("network", "start", "end") and v}
            try:
                if row.get("network"):
                    net = ipaddress.ip_network(row["network"].strip(), strict=False)
                    table.add(net[0], net[-1], info)
                else:
                    table.add(
                        ipaddress.ip_address(row["start"].strip()),
                        ipaddress.ip_address(row["end"].strip()),
                        info,
                    )
            except (ValueError, AttributeError) as exc:
                table.problems.append(ItemError(f"{path.name}:{line}", str(exc)))
    return table.freeze()


def shared_ranges(path: Path | None = None) -> RangeTable:
    """The user's VPN/hosting list (label column) plus the built-in shared ranges."""
    table = load_ranges(path) if path else RangeTable()
    for network, label in BUILTIN_SHARED.items():
        net = ipaddress.ip_network(network)
        table.add(net[0], net[-1], {"label": label})
    return table.freeze()
