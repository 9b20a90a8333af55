"""Exchanges managed as HMA's API manages them: installed APIs, their credentials and configuration
schema, and exchanges created, shown, enabled or disabled and deleted. Every change is audited;
credentials are sealed at rest and never shown back (only whether some are set).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from enum import Enum
from typing import Any

import dacite
from threatexchange.exchanges.auth import SignalExchangeWithAuth

from vigil.actions.exchanges import sync
from vigil.actions.exchanges.apis import EXCHANGE_APIS
from vigil.core.actor import Actor
from vigil.core.errors import InvalidInput, NotFound
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import Exchange, HashList
from vigil.store.repo import exchanges as repo
from vigil.store.repo import lists as list_repo

EXCHANGE_NAME = re.compile(r"[A-Z0-9_]+")  # HMA's rule for an exchange (and its bank) name
SET_BY_FORM = frozenset({"name", "api", "enabled"})  # config fields the request itself sets


def api_names() -> list[str]:
    return EXCHANGE_APIS.names()


def _api(name: str) -> Any:
    if name not in EXCHANGE_APIS:
        raise NotFound(f"no such Exchange API '{name}'")
    return EXCHANGE_APIS.get(name)()


def auth_state(store: Store, api: str) -> dict[str, bool]:
    """HMA's answer: whether the API takes credentials and whether some were set through the API."""
    cls = _api(api)
    with store.session() as tx:
        has = repo.credentials(tx, api) is not None
    return {
        "supports_authentification": issubclass(cls, SignalExchangeWithAuth),
        "has_set_authentification": has,
    }


def set_credentials(store: Store, actor: Actor, api: str, value: dict[str, Any] | None) -> dict[str, bool]:
    """Set an API's credentials (checked against its credential class), or forget them with an empty
    value. The audit event names the API, never the secret."""
    cls = _api(api)
    if value:
        if not issubclass(cls, SignalExchangeWithAuth):
            raise InvalidInput(f"exchange API '{api}' takes no credentials")
        try:
            loaded = dacite.from_dict(cls.get_credential_cls(), value, config=dacite.Config(strict=True))
        except (dacite.DaciteError, TypeError) as exc:
            raise InvalidInput(f"credentials for '{api}' do not parse: {exc}") from None
        value = dataclasses.asdict(loaded)
    with store.transaction() as tx:
        repo.set_credentials(tx, api, value or None, actor.label)
        audit.record(tx, actor, "exchange.credentials", api, {"set": bool(value)})
    return auth_state(store, api)


def _kind(hint: Any) -> tuple[str, list[Any] | None]:
    """A form field kind for a type hint: string, number, boolean, enum, set_of_X or list_of_X."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _kind(rest[0])
    if origin in (set, frozenset, list) and args:
        inner, _ = _kind(args[0])
        return f"{'list' if origin is list else 'set'}_of_{inner}", None
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "enum", [m.value for m in hint]
    if hint is bool:
        return "boolean", None
    if hint in (int, float):
        return "number", None
    return "string", None


def _json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | list | tuple):
        return [_json(v) for v in value]
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _fields(cls: Any, skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    out = []
    for field in dataclasses.fields(cls):
        if not field.init or field.name in skip:
            continue
        kind, choices = _kind(hints.get(field.name, str))
        has_default = field.default is not dataclasses.MISSING
        factory = field.default_factory
        has_factory = factory is not dataclasses.MISSING
        default = field.default if has_default else factory() if callable(factory) else None
        out.append(
            {
                "name": field.name,
                "type": kind,
                "required": not (has_default or has_factory),
                "default": _json(default),
                "help": field.metadata.get("help", "") if field.metadata else "",
                "choices": choices,
            }
        )
    return out


def schema(api: str) -> dict[str, Any]:
    """Fields of the API's configuration (what `api_json` takes) and of its credentials, if any."""
    cls = _api(api)
    creds = {"fields": _fields(cls.get_credential_cls())} if issubclass(cls, SignalExchangeWithAuth) else None
    return {
        "config_schema": {"fields": _fields(cls.get_config_cls(), SET_BY_FORM)},
        "credentials_schema": creds,
    }


def create(store: Store, actor: Actor, name: str, api: str, api_json: dict[str, Any]) -> None:
    """An exchange feeding a bank of the same name (HMA's model), its configuration checked first."""
    if not EXCHANGE_NAME.fullmatch(name):
        raise InvalidInput("Field `bank` must match /^[A-Z0-9_]+$/")
    if api not in EXCHANGE_APIS:
        raise InvalidInput(f"No such exchange type '{api}'")
    config = {k: v for k, v in api_json.items() if k not in SET_BY_FORM}
    created = sync.add_exchange(store, actor, name, api, config)
    if api_json.get("enabled") is False:
        set_enabled(store, actor, created.name, False)


def _exchange(tx: Tx, name: str) -> Exchange:
    found = repo.by_name(tx, name)
    if found is None:
        raise NotFound(f"Exchange '{name}' not found")
    return found


def show(store: Store, name: str) -> dict[str, Any]:
    """The exchange's configuration as HMA shows it: name, api, enabled and the API's own fields."""
    with store.session() as tx:
        collab = sync.collab_config(_exchange(tx, name))
    return {k: _json(v) for k, v in dataclasses.asdict(collab).items()}


def set_enabled(store: Store, actor: Actor, name: str, enabled: bool) -> dict[str, Any]:
    with store.transaction() as tx:
        _exchange(tx, name).enabled = enabled
        audit.record(tx, actor, "exchange.update", name, {"enabled": enabled})
    return show(store, name)


def delete(store: Store, actor: Actor, name: str) -> bool:
    """Remove an exchange and the bank it fed (HMA deletes both); False when there was none. A bank
    that was not made for the exchange (`--list` named an existing one) stays."""
    with store.transaction() as tx:
        row = repo.by_name(tx, name)
        if row is None:
            return False
        hash_list = tx.get_one(HashList, row.list_id)
        tx.delete(row)
        tx.flush()
        made_for_it = hash_list.source == f"exchange:{row.api}" and hash_list.name == name
        if made_for_it:
            list_repo.delete_list(tx, hash_list)
        audit.record(tx, actor, "exchange.delete", name, {"bank_deleted": made_for_it})
    return True
