"""Exchange APIs available to `vigil exchanges add --api NAME`: python-threatexchange implementations.

Credentials for NCMEC, StopNCII and ThreatExchange are those set through HMA's API (sealed in the
store) or else found by threatexchange's own auth helpers (environment variables or its credential
files). `sample` is python-threatexchange's built-in sample data, for trying an install out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vigil.core.registry import Registry

# Factories, so an API's module (and its dependencies) load only when that exchange is used.
EXCHANGE_APIS: Registry[Callable[[], Any]] = Registry("exchange API")


def _file() -> Any:
    from vigil.actions.exchanges.file_exchange import AppendingFileExchange

    return AppendingFileExchange


def _ncmec() -> Any:
    from threatexchange.exchanges.impl.ncmec_api import NCMECSignalExchangeAPI

    return NCMECSignalExchangeAPI


def _stop_ncii() -> Any:
    from threatexchange.exchanges.impl.stop_ncii_api import StopNCIISignalExchangeAPI

    return StopNCIISignalExchangeAPI


def _threatexchange() -> Any:
    from threatexchange.exchanges.impl.fb_threatexchange_api import FBThreatExchangeSignalExchangeAPI

    return FBThreatExchangeSignalExchangeAPI


def _sample() -> Any:
    from threatexchange.exchanges.impl.static_sample import StaticSampleSignalExchangeAPI

    return StaticSampleSignalExchangeAPI


for _name, _factory in (
    ("file", _file),
    ("sample", _sample),
    ("ncmec", _ncmec),
    ("stop_ncii", _stop_ncii),
    ("fb_threatexchange", _threatexchange),
):
    EXCHANGE_APIS.add(_name, _factory)
