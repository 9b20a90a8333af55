"""Reviewed blocklist entries and their exports: an RPZ zone (dnspython), plain domain and URL lists.

Blocking a whole shared platform or CDN would cut off every innocent tenant on it, so an entry
whose domain is a public suffix (the ICANN part of the Public Suffix List, or its private part,
which lists multi-tenant platforms such as blog and page hosts, from publicsuffixlist's bundled copy)
or a known CDN apex is refused unless forced. A URL on such a host goes into the URL list only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.SOA
import dns.zone

from vigil.core.actor import Actor
from vigil.core.clock import utcnow
from vigil.core.errors import InvalidInput, NotFound
from vigil.core.states import BlockKind, BlockLevel, BlockStatus
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import BlockEntry, ZoneSerial
from vigil.store.repo import blocklist as repo
from vigil.web import urls

# CDN and object-storage apexes that are not (all) in the PSL private section.
SHARED_APEXES = frozenset(
    {
        "akamaihd.net",
        "akamaized.net",
        "akamaiedge.net",
        "edgekey.net",
        "edgesuite.net",
        "cloudflare.net",
        "cloudflare.com",
        "fastly.net",
        "fastlylb.net",
        "cdn77.org",
        "azureedge.net",
        "azurefd.net",
        "cloudfront.net",
        "amazonaws.com",
        "googleusercontent.com",
        "googleapis.com",
        "gstatic.com",
        "b-cdn.net",
        "jsdelivr.net",
        "wp.com",
        "ggpht.com",
        "fbcdn.net",
        "twimg.com",
        "imgur.com",
    }
)
ACTIONS = ("nxdomain", "cname")


class BlocklistError(InvalidInput):
    """An entry or export that is refused, with the reason."""


def normalise_domain(value: str) -> str:
    text = value.strip().lower().rstrip(".")
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.encode("idna").decode("ascii") if any(ord(c) > 127 for c in text) else text
    if not text or " " in text or "/" in text or "." not in text:
        raise BlocklistError(f"not a domain name: {value!r}")
    dns.name.from_text(text)  # raises on labels that are too long or empty
    return text


def shared_host_reason(domain: str) -> str | None:
    """Why blocking this whole name would hit unrelated tenants, or None."""
    kind = urls.suffix_kind(domain)
    if kind is not None:
        return f"{domain} is a public suffix{' (shared platform)' if kind == 'private' else ''}"
    apex = urls.site(domain)
    if apex in SHARED_APEXES and domain.count(".") <= apex.count(".") + 1:
        return f"{domain} serves the whole {apex} platform"
    return None


def _entry_key(value: str) -> tuple[BlockKind, str]:
    """How an entry is stored: a URL with a path as it is, anything else as its domain."""
    is_url = "://" in value and urlsplit(value.strip()).path not in ("", "/")
    return (BlockKind.URL, value.strip()) if is_url else (BlockKind.DOMAIN, normalise_domain(value))


def add(
    store: Store,
    actor: Actor,
    value: str,
    *,
    source: str | None = None,
    level: BlockLevel | str = BlockLevel.BLOCK,
    force: bool = False,
    note: str | None = None,
) -> BlockEntry:
    """Propose an entry (pending review). Shared hosts are refused unless `force`."""
    try:
        level = BlockLevel(level)
    except ValueError:
        raise BlocklistError(f"level must be one of {', '.join(v.value for v in BlockLevel)}") from None
    kind, text = _entry_key(value)
    domain = normalise_domain(value)
    reason = shared_host_reason(domain)
    if reason and kind == BlockKind.DOMAIN and not force:
        raise BlocklistError(f"refused: {reason}; blocking it would cut off unrelated sites (use force)")
    with store.transaction() as tx:
        entry = repo.find(tx, kind, text)
        if entry is None:
            entry = BlockEntry(
                kind=kind, value=text, source=source, level=level, forced=bool(reason and force), note=note
            )
            tx.add(entry)
            tx.flush()
            audit.record(
                tx, actor, "blocklist.add", f"block:{entry.id}", {"value": text, "forced": entry.forced}
            )
        return entry


def withdraw(store: Store, actor: Actor, value: str, source: str) -> bool:
    """The source of a proposal withdrew it: a still-pending entry from that source is rejected
    (audited); an entry a person already reviewed stays as they decided. True if one was withdrawn."""
    kind, text = _entry_key(value)
    with store.transaction() as tx:
        entry = repo.find(tx, kind, text)
        if entry is None or entry.status != BlockStatus.PENDING or entry.source != source:
            return False
        entry.status, entry.reviewer, entry.reviewed_at = BlockStatus.REJECTED, actor.label, utcnow()
        audit.record(tx, actor, "blocklist.withdrawn", f"block:{entry.id}", {"value": text, "source": source})
        return True


def review(store: Store, reviewer: Actor, entry_id: int, approve: bool) -> BlockEntry:
    """Approve or reject a proposed entry; only approved entries are ever exported."""
    with store.transaction() as tx:
        entry = tx.get(BlockEntry, entry_id)
        if entry is None:
            raise NotFound(f"no blocklist entry {entry_id}")
        entry.status = BlockStatus.APPROVED if approve else BlockStatus.REJECTED
        entry.reviewer, entry.reviewed_at = reviewer.label, utcnow()
        audit.record(
            tx, reviewer, f"blocklist.{entry.status.value}", f"block:{entry_id}", {"value": entry.value}
        )
        return entry


def approved(
    store: Store, kind: BlockKind | None = None, level: BlockLevel = BlockLevel.BLOCK
) -> list[BlockEntry]:
    with store.session() as session:
        return repo.approved(session, kind, level)


def entries(store: Store) -> list[BlockEntry]:
    with store.session() as session:
        return repo.all_entries(session)


@dataclass(frozen=True)
class RpzOptions:
    zone: str = "rpz.vigil.local"
    action: str = "nxdomain"  # or cname
    stop_host: str | None = None  # required for cname
    ttl: int = 300
    nameserver: str = "localhost"
    contact: str = "hostmaster.invalid"


def _rpz_domains(store: Store) -> list[str]:
    """Approved domain entries; URL entries contribute their host unless it is shared."""
    names = {e.value for e in approved(store, BlockKind.DOMAIN)}
    for entry in approved(store, BlockKind.URL):
        host = normalise_domain(entry.value)
        if shared_host_reason(host) is None:
            names.add(host)
    return sorted(names)


def build_rpz(store: Store, options: RpzOptions) -> dns.zone.Zone:
    if options.action not in ACTIONS:
        raise BlocklistError(f"action must be one of {ACTIONS}")
    if options.action == "cname" and not options.stop_host:
        raise BlocklistError("the cname action needs the stop-page host name")
    origin = dns.name.from_text(options.zone)
    zone = dns.zone.Zone(origin)
    target = dns.name.root if options.action == "nxdomain" else dns.name.from_text(options.stop_host or "")
    domains = _rpz_domains(store)
    content = "\n".join([options.action, str(target), *domains])
    serial = _bump_serial(store, options.zone, hashlib.sha256(content.encode()).hexdigest())
    apex = zone.find_rdataset("@", dns.rdatatype.SOA, create=True)
    apex.update_ttl(options.ttl)
    apex.add(
        dns.rdtypes.ANY.SOA.SOA(  # type: ignore[no-untyped-call]
            dns.rdataclass.IN,
            dns.rdatatype.SOA,
            dns.name.from_text(options.nameserver),
            dns.name.from_text(options.contact),
            serial,
            3600,
            600,
            604800,
            options.ttl,
        )
    )
    ns = zone.find_rdataset("@", dns.rdatatype.NS, create=True)
    ns.update_ttl(options.ttl)
    nameserver = dns.name.from_text(options.nameserver)
    ns.add(dns.rdtypes.ANY.NS.NS(dns.rdataclass.IN, dns.rdatatype.NS, nameserver))  # type: ignore[no-untyped-call]
    for domain in domains:
        # A name blocks itself and its subdomains; an entry that is already a wildcard ("*.x.example")
        # means the subdomains only, and must not become "*.*.x.example".
        owners = (domain,) if domain.startswith("*.") else (domain, f"*.{domain}")
        for owner in owners:
            name = dns.name.from_text(owner, origin=origin)  # the blocked name, under the zone apex
            rdataset = zone.find_rdataset(name, dns.rdatatype.CNAME, create=True)
            rdataset.update_ttl(options.ttl)
            rdataset.add(dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, dns.rdatatype.CNAME, target))  # type: ignore[no-untyped-call]
    return zone


def _bump_serial(store: Store, zone: str, content_hash: str) -> int:
    """YYYYMMDDnn, moved forward only when the zone's content changed since the last export."""
    today = int(datetime.now(UTC).strftime("%Y%m%d")) * 100
    with store.transaction() as tx:
        state = tx.get(ZoneSerial, zone)
        if state is None:
            state = ZoneSerial(zone=zone, serial=today, content_hash=content_hash)
            tx.add(state)
        elif state.content_hash != content_hash:
            state.serial = max(today, state.serial + 1)
            state.content_hash = content_hash
        return state.serial


def export(store: Store, actor: Actor, fmt: str, out: Path, options: RpzOptions | None = None) -> int:
    """Write `rpz`, `domains` or `urls`; returns how many entries were written."""
    if fmt == "rpz":
        zone = build_rpz(store, options or RpzOptions())
        out.write_text(zone.to_text(relativize=False, want_origin=True), encoding="ascii")
        count = len(_rpz_domains(store))
    elif fmt == "domains":
        names = _rpz_domains(store)
        out.write_text("".join(n + "\n" for n in names), encoding="ascii")
        count = len(names)
    elif fmt == "urls":
        urls = [e.value for e in approved(store, BlockKind.URL)]
        out.write_text("".join(u + "\n" for u in urls), encoding="utf-8")
        count = len(urls)
    else:
        raise BlocklistError("format must be rpz, domains or urls")
    audit.log(store, actor, "blocklist.export", str(out), {"format": fmt, "entries": count})
    return count
