"""Signals an exchange sends that are not media hashes, routed to the engine that can use them.

python-threatexchange's `url` signal (a URL where a partner found abuse material) becomes a
blocklist proposal from `exchange:NAME`: pending, so a person approves each one before any export
blocks it, and refused per item where it would block a shared host. A URL the exchange withdraws
is withdrawn from the blocklist while still pending. Other non-hash types (`url_md5`, `raw_text`,
`trend_query`) are refused per item with the reason until an engine takes them. A new route is
one function registered here.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.actions.blocking import blocklist
from vigil.core.actor import Actor
from vigil.core.registry import Registry
from vigil.store.db import Store

Route = Callable[[Store, Actor, str, str, bool], None]  # store, actor, exchange, value, withdrawn
ROUTES: Registry[Route] = Registry("routed signal type")


def _url(store: Store, actor: Actor, exchange: str, value: str, withdrawn: bool) -> None:
    source = f"exchange:{exchange}"
    if withdrawn:
        blocklist.withdraw(store, actor, value, source)
    else:
        blocklist.add(store, actor, value, source=source, note=f"shared as a URL signal by {exchange}")


ROUTES.add("url", _url)
