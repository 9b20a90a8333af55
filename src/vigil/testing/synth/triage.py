"""Synthetic incoming reports with planted cases, for tests and the triage benchmark.

Every report gets fresh identifiers; each later report of a planted case then copies one identifier
(account, e-mail, private file, or home IP within half an hour) from an earlier report of the same case.
Noise that must not link: widely circulating known files on most reports, shared VPN addresses, home
addresses reassigned to someone else days later, and re-sent duplicates (which must merge).

`hard=True` adds the noise real data brings (issue 22): a mobile carrier's NAT pool that no range list
names (a fifth of the reports log in 5-20 times over 30 days from 64 public addresses, each with its own
source port), 300 benign memes each on 3-20 unrelated reports (the service flags half the copies as
potential memes), identifier variants in the copied links (+tags, spaces, case, provider dots, and
one-character typos), placeholder accounts (`[deleted]`, `0`), numeric account ids that repeat across
services, and one service that sends local times (UTC-8) without an offset.
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
CARRIER_NET = "192.0.2.0/26"  # the public side of a carrier NAT: in no range list
NAIVE_ESP, NAIVE_OFFSET = "videosite", timedelta(hours=-8)
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


def generate_reports(
    n: int = 10_000, seed: int = 0, viral: int = 100, hard: bool = False
) -> SyntheticReports:
    rng = random.Random(seed)
    carrier = [str(ip) for ip in ipaddress.ip_network(CARRIER_NET)]
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
                    "accounts": [
                        str(rng.randrange(10**6, 10**7)) if hard and rng.random() < 0.3 else f"acct{i}"
                    ],
                    "emails": [
                        f"user{i}@{rng.choice(('mail.example', 'gmail.com')) if hard else 'mail.example'}"
                    ],
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
            if hard and rng.random() < 0.2:
                for _ in range(rng.randint(5, 20)):
                    at = when + timedelta(minutes=rng.randrange(-30 * 24 * 60, 1))
                    bundle["reported"]["ipEvents"].append(
                        {
                            "ip": rng.choice(carrier),
                            "port": rng.randrange(1024, 65536),
                            "dateTime": at.isoformat(),
                            "event": "Login",
                        }
                    )
            if hard and rng.random() < 0.03:
                bundle["reported"]["accounts"].append(rng.choice(("[deleted]", "0", "unknown")))
            if members:
                _copy_one(rng, rng.choice(members), bundle, hard)
            members.append(bundle)
            bundles.append(bundle)
            truth.append(case)
        case += 1
    _reassign_home_ips(rng, bundles)
    if hard:
        _spread_memes(rng, bundles)
        for bundle in bundles:
            if bundle["esp"] == NAIVE_ESP:
                _local_times(bundle)
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


def _copy_one(rng: random.Random, source: dict[str, Any], target: dict[str, Any], hard: bool = False) -> None:
    channel = rng.choice(("account", "email", "file", "ip"))
    if channel == "account":
        target["esp"] = source["esp"]
        target["reported"]["accounts"] = [
            _variant(rng, a) if hard else a for a in source["reported"]["accounts"][:1]
        ]
    elif channel == "email":
        target["reported"]["emails"] = [
            _email_variant(rng, e) if hard else e for e in source["reported"]["emails"]
        ]
    elif channel == "file":
        target["files"].append(dict(source["files"][0]))
    else:
        home = source["reported"]["ipEvents"][0]
        nat = [e for e in source["reported"]["ipEvents"] if "port" in e]
        if hard and nat and rng.random() < 0.5:  # the same subscriber behind the carrier NAT: same port
            home = rng.choice(nat)
        when = datetime.fromisoformat(home["dateTime"]) + timedelta(minutes=rng.randint(1, 30))
        target["incident"]["dateTime"] = when.isoformat()
        copied = {"ip": home["ip"], "dateTime": when.isoformat(), "event": "Login"}
        if "port" in home:
            copied["port"] = home["port"]
        target["reported"]["ipEvents"][0] = copied


TYPO_SHARE = 0.1  # of copied identifiers, how many carry a one-character typo (only suggested, never linked)


def _variant(rng: random.Random, value: str) -> str:
    """How services write the same identifier: case, stray spaces, and now and then a typo."""
    if rng.random() < TYPO_SHARE and len(value) >= 6:
        at = rng.randrange(1, len(value) - 1)
        return value[:at] + rng.choice("abcdefghijklmnopqrstuvwxyz") + value[at + 1 :]
    return rng.choice((value.upper(), f" {value} ", value.capitalize(), value))


def _email_variant(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    form = rng.randrange(4)
    if form == 0:
        email = f"{local}+{rng.choice(('pics', 'alt', 'x1'))}@{domain}"
    elif form == 1 and domain == "gmail.com":
        return f"{local[:2]}.{local[2:]}@{rng.choice(('gmail.com', 'googlemail.com'))}"
    return _variant(rng, email)


def _spread_memes(rng: random.Random, bundles: list[dict[str, Any]], memes: int = 300) -> None:
    """Benign memes that unrelated people share; the service flags about half the copies."""
    for m in range(memes):
        meme = {"sha256": _digest(f"meme{m}", "sha256"), "md5": _digest(f"meme{m}", "md5")}
        for j in rng.sample(range(len(bundles)), rng.randint(3, 20)):
            flagged = ["potentialMeme"] if rng.random() < 0.5 else []
            bundles[j]["files"].append(
                {"name": f"meme{m}.jpg", **meme, "attached": False, "viewed": True, "annotations": flagged}
            )


def _local_times(bundle: dict[str, Any]) -> None:
    """This service writes its own local time (UTC-8) with no offset."""

    def local(text: str) -> str:
        moment = datetime.fromisoformat(text) + NAIVE_OFFSET
        return moment.replace(tzinfo=None).isoformat()

    bundle["incident"]["dateTime"] = local(bundle["incident"]["dateTime"])
    for event in bundle["reported"]["ipEvents"]:
        event["dateTime"] = local(event["dateTime"])


def _reassign_home_ips(rng: random.Random, bundles: list[dict[str, Any]]) -> None:
    """Some unrelated reports reuse an earlier report's home IP days later (dynamic addressing)."""
    for _ in range(len(bundles) // 20):
        a, b = rng.sample(range(len(bundles)), 2)
        event = bundles[a]["reported"]["ipEvents"][0]
        later = datetime.fromisoformat(event["dateTime"]) + timedelta(days=rng.randint(3, 60))
        if any(e["ip"] == event["ip"] for e in bundles[b]["reported"]["ipEvents"]):
            continue
        bundles[b]["reported"]["ipEvents"].append({"ip": event["ip"], "dateTime": later.isoformat()})
