"""Who gets a notice: the site, its hosting network or CDN, and a partner hotline in the hosting country.

Nothing is looked up on a service at run time. The operator supplies local files:
- an IP-to-ASN table in the widely used ip2asn TSV form (`range_start, range_end, AS_number,
  country_code, AS_description`, IPv4 and IPv6 ranges), refreshed from their RIR/RDAP source of choice;
- an abuse-contact CSV `asn,abuse[,channel][,cdn]` (the RDAP abuse mailbox of each network; `cdn`
  marks networks that front other hosts, whose notices they forward to the origin);
- a hotline CSV `country,name,contact[,channel]` (partner hotlines by ISO country code);
- optionally a folder of notice templates: `{country}-{role}.txt`, `{country}.txt`, `{role}.txt`,
  the first that exists (Jinja2), else the built-in English text for the role.
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from jinja2 import Environment, Template

from vigil.actions.takedown.contacts import Contact, ContactBook, read_csv
from vigil.core.errors import VigilError
from vigil.web import urls
from vigil.web.guard import AddressPolicy

ROLES = ("site", "hosting", "cdn", "hotline")
_ENV = Environment(autoescape=False, keep_trailing_newline=True)

# What every removal request ends with: the URL, where it was found (not for a CDN, which serves the
# file rather than the page), the hash, the reminder count.
_URL = "\nURL: {{ url }}\n"
_FOUND_ON = "{% if page %}Found on page: {{ page }}\n{% endif %}"
_HASH_AND_REMINDER = """\
SHA-256 of the content: {{ sha }}
{% if sends %}This is reminder number {{ sends }}; the content was still reachable on {{ checked }}.
{% endif %}
Please do not reply with the content itself. Reply to this address quoting the reference.
"""
BUILT_IN = {
    "site": """\
Reference: {{ reference }}

We found content at the address below that matches a hash list of known child sexual abuse material
maintained by {{ lists }}. A trained reviewer confirmed the match on {{ confirmed }}.
Please remove it and preserve related records for law enforcement.
"""
    + _URL
    + _FOUND_ON
    + _HASH_AND_REMINDER,
    "hosting": """\
Reference: {{ reference }}

A server on your network ({{ provider }}, AS{{ asn }}, address {{ ip }}) serves content that matches a
hash list of known child sexual abuse material maintained by {{ lists }}. A trained reviewer confirmed
the match on {{ confirmed }}. The site's own abuse contact has been notified as well. Please have the
content removed and preserve related records for law enforcement.
"""
    + _URL
    + _FOUND_ON
    + _HASH_AND_REMINDER,
    "cdn": """\
Reference: {{ reference }}

Your network ({{ provider }}, AS{{ asn }}) delivers content from the address below that matches a hash
list of known child sexual abuse material maintained by {{ lists }}. A trained reviewer confirmed the
match on {{ confirmed }}. Please forward this notice to the origin host, stop serving the content, and
preserve related records for law enforcement.
"""
    + _URL
    + _HASH_AND_REMINDER,
    "hotline": """\
Reference: {{ reference }}

We refer to you, as the hotline for {{ country }}, content hosted in your country that matches a hash list
of known child sexual abuse material maintained by {{ lists }}. A trained reviewer confirmed the match on
{{ confirmed }}. The site and its hosting network ({{ provider }}, AS{{ asn }}) were first notified on
{{ first_notice }} and the content was still reachable on {{ checked }}.

URL: {{ url }}
Hosting address: {{ ip }}
SHA-256 of the content: {{ sha }}
""",
}


@dataclass(frozen=True)
class Network:
    asn: int
    country: str  # ISO 3166 alpha-2, upper case; "" when the table has none ("None" in ip2asn)
    provider: str


@dataclass
class HostingData:
    """IP ranges to networks, and networks to abuse contacts."""

    starts: list[int] = field(default_factory=list)
    ranges: list[tuple[int, int, Network]] = field(default_factory=list)  # sorted by start
    abuse: dict[int, tuple[Contact, bool]] = field(default_factory=dict)  # asn -> (contact, is a CDN)

    @classmethod
    def load(cls, ip2asn: Path | None, abuse: Path | None) -> HostingData:
        data = cls()
        if ip2asn is not None:
            data._load_ranges(ip2asn)
        if abuse is not None:
            data._load_abuse(abuse)
        return data

    def _load_ranges(self, path: Path) -> None:
        rows: list[tuple[int, int, Network]] = []
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, 1):
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) < 5 or not parts[2].isdigit() or parts[2] == "0":
                        continue  # "not routed" rows and junk say nothing about a host
                    try:
                        start, end = ipaddress.ip_address(parts[0]), ipaddress.ip_address(parts[1])
                    except ValueError as exc:
                        raise VigilError(f"{path}:{number}: {exc}") from None
                    country = "" if parts[3] in ("None", "") else parts[3].upper()
                    rows.append((_key(start), _key(end), Network(int(parts[2]), country, parts[4].strip())))
        except OSError as exc:
            raise VigilError(f"IP-to-ASN table {path}: {exc}") from exc
        rows.sort(key=lambda row: row[0])
        self.ranges, self.starts = rows, [row[0] for row in rows]

    def _load_abuse(self, path: Path) -> None:
        def take(row: dict[str, str]) -> None:
            asn = int(row["asn"].strip().upper().removeprefix("AS"))
            cdn = (row.get("cdn") or "").strip().lower() in ("1", "yes", "true", "cdn")
            self.abuse[asn] = (_contact(row, "abuse"), cdn)

        read_csv(path, "abuse contacts", "asn,abuse[,channel][,cdn]", take)

    def network(self, address: str) -> Network | None:
        key = _key(ipaddress.ip_address(address))
        at = bisect.bisect_right(self.starts, key) - 1
        if at >= 0 and self.ranges[at][0] <= key <= self.ranges[at][1]:
            return self.ranges[at][2]
        return None


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    """One ordering for both families: IPv4 as its IPv4-mapped IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return int(ipaddress.IPv6Address(f"::ffff:{address}"))
    return int(address)


@dataclass
class Hotlines:
    by_country: dict[str, tuple[str, Contact]] = field(default_factory=dict)  # CC -> (name, contact)

    @classmethod
    def load(cls, path: Path | None) -> Hotlines:
        hotlines = cls()
        if path is not None:

            def take(row: dict[str, str]) -> None:
                hotlines.by_country[row["country"].strip().upper()] = (
                    row["name"].strip(),
                    _contact(row, "contact"),
                )

            read_csv(path, "hotlines", "country,name,contact[,channel]", take)
        return hotlines


def _contact(row: dict[str, str], column: str) -> Contact:
    """The address in `column` and the row's channel (email unless it names another)."""
    return Contact(row[column].strip(), (row.get("channel") or "email").strip().lower() or "email")


@dataclass(frozen=True)
class Recipient:
    role: str
    contact: Contact
    network: Network | None
    ip: str | None


@dataclass
class Desk:
    """What the takedown desk knows: contacts, hosting data, hotlines, templates, the ladder."""

    contacts: ContactBook = field(default_factory=ContactBook)
    hosting: HostingData = field(default_factory=HostingData)
    hotlines: Hotlines = field(default_factory=Hotlines)
    templates: Path | None = None
    hotline_after: timedelta = timedelta(hours=48)  # the ladder's second step: hand-off to a hotline
    resolve: dict[str, str] = field(default_factory=dict)  # host -> "ip:port" (tests, drills)
    addresses: AddressPolicy = field(default_factory=AddressPolicy)

    def address_of(self, url: str) -> str | None:
        """The IP the URL's host serves from (checked against the address policy), or None; not
        looked up at all without hosting data to read it against."""
        if not self.hosting.ranges:
            return None
        host = urls.host(url)
        if host in self.resolve:
            return self.resolve[host].rsplit(":", 1)[0].strip("[]")
        try:
            return self.addresses.resolve_sync(host, 443 if url.startswith("https:") else 80)
        except Exception:  # an unresolvable host still gets its site notice
            return None

    def recipients(self, url: str) -> list[Recipient]:
        """The site's contact, then the hosting network's (or the CDN's) when the data knows it."""
        ip = self.address_of(url)
        network = self.hosting.network(ip) if ip else None
        found = [Recipient("site", self.contacts.lookup(url), network, ip)]
        if network is not None and network.asn in self.hosting.abuse:
            contact, cdn = self.hosting.abuse[network.asn]
            if contact.address != found[0].contact.address:
                found.append(Recipient("cdn" if cdn else "hosting", contact, network, ip))
        return found

    def hotline_for(self, country: str | None) -> tuple[str, Contact] | None:
        return self.hotlines.by_country.get((country or "").upper())

    def template(self, role: str, country: str | None) -> Template:
        if self.templates is not None:
            cc = (country or "").lower()
            for name in [f"{cc}-{role}.txt", f"{cc}.txt"] * bool(cc) + [f"{role}.txt"]:
                path = self.templates / name
                if path.is_file():
                    return _ENV.from_string(path.read_text(encoding="utf-8"))
        return _ENV.from_string(BUILT_IN[role])
