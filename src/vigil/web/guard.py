"""Where a crawler may connect: public addresses only, unless the operator allows more.

A public page can point an `<img>` or a redirect at `http://127.0.0.1:6379/`, `http://10.0.0.5/admin`
or the cloud metadata service at 169.254.169.254, and a crawler that follows it attacks the network
it runs in (server-side request forgery). Every host is therefore resolved first, each address it
resolves to is checked, and the request then goes to the checked address itself (with the original
Host header and TLS server name), so a second DNS answer cannot swap in a private address between
check and connect. Every redirect hop is checked the same way.

Refused: every address Python's `ipaddress` does not call global (loopback, private, link-local
including the metadata service, carrier-grade NAT 100.64.0.0/10, unique-local, documentation and
reserved ranges), multicast, and IPv4 addresses mapped or translated into IPv6. `allow` lists the
networks the operator permits anyway (a lab web on loopback, an intranet the unit is entitled to
crawl).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from vigil.core.errors import Forbidden

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Forbidden):
    """The address is not one the crawler may connect to (the message says why)."""


def refusal(address: Address) -> str | None:
    """Why a crawler must not connect to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None
        )
        if embedded is not None:
            inner = refusal(embedded)
            return f"IPv6 form of {embedded}: {inner}" if inner else None
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is link-local (the cloud metadata service lives there)"
    if address in ipaddress.ip_network("100.64.0.0/10"):
        return f"{address} is carrier-grade NAT space"
    if not address.is_global:
        return f"{address} is a private, reserved or documentation address"
    return None


RESOLVE_TTL = 300.0  # seconds a host's checked address (or its failure to resolve) is reused


@dataclass(frozen=True)
class AddressPolicy:
    allow: tuple[Network, ...] = ()
    # (host, port) -> (expiry, lookup): one lookup per host, not per URL. A dead host that a site
    # links from every page would otherwise cost a resolver timeout for each of its images.
    _lookups: dict[tuple[str, int], tuple[float, asyncio.Future[str]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def allowing(cls, networks: Iterable[str]) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def check(self, address: Address) -> None:
        if any(address in network for network in self.allow):
            return
        reason = refusal(address)
        if reason:
            raise AddressRefused(f"address policy: {reason}")

    def _literal(self, host: str) -> str | None:
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return None
        self.check(literal)
        return str(literal)

    def _first_permitted(self, host: str, answers: list[tuple[object, ...]]) -> str:
        reasons = []
        for *_, sockaddr in answers:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # type: ignore[index]
            try:
                self.check(address)
            except AddressRefused as exc:
                reasons.append(str(exc))
                continue
            return str(address)
        raise AddressRefused(f"{host} resolves to no permitted address ({'; '.join(reasons) or 'no answer'})")

    async def resolve(self, host: str, port: int) -> str:
        """The first address of `host` the policy permits (an IP literal is checked as it is).
        Answers and failures are reused for RESOLVE_TTL seconds, and concurrent asks share one."""
        literal = self._literal(host)
        if literal is not None:
            return literal
        loop, now = asyncio.get_running_loop(), time.monotonic()
        cached = self._lookups.get((host, port))
        if cached is None or cached[0] < now or cached[1].get_loop() is not loop:
            cached = (now + RESOLVE_TTL, asyncio.ensure_future(self._lookup(host, port)))
            self._lookups[(host, port)] = cached
        return await asyncio.shield(cached[1])

    async def _lookup(self, host: str, port: int) -> str:
        try:
            answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(f"cannot resolve {host}: {exc}") from None
        return self._first_permitted(host, list(answers))

    def resolve_sync(self, host: str, port: int) -> str:
        """`resolve` for code outside an event loop (takedown re-checks, site fingerprints)."""
        literal = self._literal(host)
        if literal is not None:
            return literal
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(f"cannot resolve {host}: {exc}") from None
        return self._first_permitted(host, list(answers))
