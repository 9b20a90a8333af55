"""Synthetic incoming reports with planted cases, for tests and the triage benchmark.

Every report gets fresh identifiers; each later report of a planted case then copies one identifier
(account, e-mail, private file, or home IP within half an hour) from an earlier report of the same case.
Noise that must not link: widely circulating known files on most reports, shared VPN addresses, home
addresses reassigned to someone else days later, and re-sent duplicates (which must merge).
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ESPS = ("chatapp", "photoshare", "cloudbox", "videosite")
START = datetime(2026, 1, 1, tzinfo=UTC)
HOME_NETS = {"198.18.0.0/16": "NO", "198.19.0.0/16": "SE"}
VPN_NET = "203.0.113.0/24"
CATEGORIES = ("ncmec:A1", "ncmec:A2", "ncmec:B1", "ncmec:B2", None, None)


@dataclass
class SyntheticReports:
    bundles: list[dict[str, Any]]
    truth: list[int]  # planted case per bundle
    known: list[tuple[str, str, str | None]]  # (hash type, value, category) to put on a known list
    geo_csv: str
    shared_csv: str


def _digest(text: str, kind: str) -> str:
    return hashlib.new(kind, text.encode()).hexdigest()


def generate_reports(n: int = 10_000, seed: int = 0, viral: int = 100) -> SyntheticReports:
    rng = random.Random(seed)
    homes = [str(ip) for net in HOME_NETS for ip in ipaddress.ip_network(net).hosts()]
    vpns = [str(ip) for ip in ipaddress.ip_network(VPN_NET).hosts()][:50]
    viral_files = [
        {"sha256": _digest(f"viral{v}", "sha256"), "md5": _digest(f"viral{v}", "md5")} for v in range(viral)
    ]
    known: list[tuple[str, str, str | None]] = [
        (k, f[k], "ncmec:A2") for f in viral_files for k in ("sha256", "md5")
    ]
    bundles: list[dict[str, Any]] = []
    truth: list[int] = []
    case = 0
    while len(bundles) < n:
        size = rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 5, 8))
        members: list[dict[str, Any]] = []
        for _ in range(min(size, n - len(bundles))):
            i = len(bundles)
            when = START + timedelta(minutes=rng.randrange(365 * 24 * 60))
            private = {"sha256": _digest(f"file{i}", "sha256"), "md5": _digest(f"file{i}", "md5")}
            if rng.random() < 0.3:
                category = rng.choice(CATEGORIES[:4])
                known += [("sha256", private["sha256"], category)]
            bundle: dict[str, Any] = {
                "reportId": f"R{i:06d}",
                "esp": rng.choice(ESPS),
                "incident": {
                    "type": "Child Pornography (possession, manufacture, and distribution)",
                    "dateTime": when.isoformat(),
                },
                "reported": {
                    "accounts": [f"acct{i}"],
                    "emails": [f"user{i}@mail.example"],
                    "ipEvents": [{"ip": rng.choice(homes), "dateTime": when.isoformat(), "event": "Upload"}],
                },
                "files": [
                    {
                        "name": f"IMG_{rng.randrange(10000):04d}.jpg",
                        **private,
                        "attached": rng.random() < 0.6,
                        "viewed": rng.random() < 0.8,
                        "category": rng.choice(CATEGORIES),
                    }
                ],
                "flags": ["imminent_danger"] if rng.random() < 0.02 else [],
            }
            for f in rng.sample(viral_files, rng.choice((0, 1, 1, 2))):
                bundle["files"].append({"name": "shared.jpg", **f, "attached": False, "viewed": True})
            if rng.random() < 0.15:
                bundle["reported"]["ipEvents"].append({"ip": rng.choice(vpns), "dateTime": when.isoformat()})
            if members:
                _copy_one(rng, rng.choice(members), bundle)
            members.append(bundle)
            bundles.append(bundle)
            truth.append(case)
        case += 1
    _reassign_home_ips(rng, bundles)
    for k in range(n // 50):  # re-sent under a new id: must merge with the original
        j = rng.randrange(len(bundles))
        again = {**bundles[j], "reportId": f"{bundles[j]['reportId']}-resent{k}"}
        bundles.append(again)
        truth.append(truth[j])
    geo = "network,country,asn\n" + "".join(
        f"{net},{cc},AS6{k}\n" for k, (net, cc) in enumerate(HOME_NETS.items())
    )
    shared = f"network,label\n{VPN_NET},vpn\n"
    return SyntheticReports(bundles, truth, known, geo, shared)


def _copy_one(rng: random.Random, source: dict[str, Any], target: dict[str, Any]) -> None:
    channel = rng.choice(("account", "email", "file", "ip"))
    if channel == "account":
        target["esp"] = source["esp"]
        target["reported"]["accounts"] = list(source["reported"]["accounts"])
    elif channel == "email":
        target["reported"]["emails"] = list(source["reported"]["emails"])
    elif channel == "file":
        target["files"].append(dict(source["files"][0]))
    else:
        home = source["reported"]["ipEvents"][0]
        when = datetime.fromisoformat(home["dateTime"]) + timedelta(minutes=rng.randint(1, 30))
        target["incident"]["dateTime"] = when.isoformat()
        target["reported"]["ipEvents"][0] = {"ip": home["ip"], "dateTime": when.isoformat(), "event": "Login"}


def _reassign_home_ips(rng: random.Random, bundles: list[dict[str, Any]]) -> None:
    """Some unrelated reports reuse an earlier report's home IP days later (dynamic addressing)."""
    for _ in range(len(bundles) // 20):
        a, b = rng.sample(range(len(bundles)), 2)
        event = bundles[a]["reported"]["ipEvents"][0]
        later = datetime.fromisoformat(event["dateTime"]) + timedelta(days=rng.randint(3, 60))
        if any(e["ip"] == event["ip"] for e in bundles[b]["reported"]["ipEvents"]):
            continue
        bundles[b]["reported"]["ipEvents"].append({"ip": event["ip"], "dateTime": later.isoformat()})
