"""HMA's /c exchange endpoints: exchange APIs (credentials, schema), exchanges (create, list, show,
enable, delete, fetch status) and the signal and content types served."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from vigil.actions.exchanges import manage
from vigil.actions.exchanges import sync as exchanges
from vigil.actions.exchanges.signals import SIGNALS
from vigil.core.actor import Permission
from vigil.core.errors import Conflict, InvalidInput
from vigil.interfaces.api.service import get_service
from vigil.interfaces.hma.common import HmaError, who

router = APIRouter(tags=["hma"])


async def _object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise HmaError(400, "this endpoint expects a json object payload")
    return body


def _known_api(api_name: str) -> None:
    """HMA answers an unknown API name with 400 on these routes (404 only on /schema)."""
    if api_name not in manage.api_names():
        raise HmaError(400, f"no such Exchange API '{api_name}'")


@router.get("/c/exchanges/apis")
def exchange_apis(request: Request) -> list[str]:
    """Names of the exchange APIs this server can use."""
    who(request, Permission.MATCH)
    return manage.api_names()


@router.get("/c/exchanges/api/{api_name}")
def exchange_api(request: Request, api_name: str) -> dict[str, bool]:
    """Whether the API takes credentials and whether some were set here."""
    who(request, Permission.MATCH)
    _known_api(api_name)
    return manage.auth_state(get_service(request).store, api_name)


@router.post("/c/exchanges/api/{api_name}")
async def exchange_api_credentials(request: Request, api_name: str) -> dict[str, bool]:
    """Set the API's credentials (`credential_json`); an empty object forgets them."""
    actor = who(request, Permission.KEYS)  # secrets, as API keys are
    _known_api(api_name)
    body = await _object(request)
    store = get_service(request).store
    if "credential_json" not in body or body["credential_json"] is None:
        return manage.auth_state(store, api_name)
    creds = body["credential_json"]
    if not isinstance(creds, dict):
        raise HmaError(400, "credential_json must be an object")
    try:
        return manage.set_credentials(store, actor, api_name, creds)
    except InvalidInput as exc:
        raise HmaError(400, str(exc)) from None


@router.get("/c/exchanges/api/{api_name}/schema")
def exchange_api_schema(request: Request, api_name: str) -> dict[str, Any]:
    """Field descriptors for `api_json` and for `credential_json` (null when the API takes none)."""
    who(request, Permission.MATCH)
    return manage.schema(api_name)


@router.post("/c/exchanges", status_code=201)
async def exchange_create(request: Request) -> dict[str, str]:
    """Create an exchange feeding a bank of the same name: `{"api", "bank", "api_json"}`."""
    actor = who(request, Permission.LISTS)
    body = await _object(request)
    bank, api, api_json = body.get("bank"), body.get("api"), body.get("api_json", {})
    if not isinstance(bank, str):
        raise HmaError(400, "Field `bank` is required")
    if not isinstance(api_json, dict):
        raise HmaError(400, "Field `api_json` must be object")
    if not isinstance(api, str):
        raise HmaError(400, "Field `api` is required")
    try:
        manage.create(get_service(request).store, actor, bank, api, api_json)
    except (InvalidInput, Conflict) as exc:
        raise HmaError(400, str(exc)) from None
    return {"message": "Created successfully"}


@router.get("/c/exchanges")
def exchange_list(request: Request) -> list[str]:
    """Names of the configured exchanges."""
    who(request, Permission.MATCH)
    return [row["name"] for row in exchanges.status(get_service(request).store)]


@router.get("/c/exchange/{exchange_name}")
def exchange_show(request: Request, exchange_name: str) -> dict[str, Any]:
    """The exchange's configuration: name, api, enabled and the API's own fields."""
    who(request, Permission.MATCH)
    return manage.show(get_service(request).store, exchange_name)


@router.put("/c/exchange/{exchange_name}")
async def exchange_update(request: Request, exchange_name: str) -> dict[str, Any]:
    """Enable or disable the exchange (`{"enabled": bool}`), as HMA allows."""
    actor = who(request, Permission.LISTS)
    body = await _object(request)
    store = get_service(request).store
    enabled = body.get("enabled")
    if enabled is None:
        return manage.show(store, exchange_name)
    if not isinstance(enabled, bool):
        raise HmaError(400, "enabled must be true or false")
    return manage.set_enabled(store, actor, exchange_name, enabled)


@router.delete("/c/exchange/{exchange_name}")
def exchange_delete(request: Request, exchange_name: str) -> dict[str, str]:
    """Delete the exchange and the bank it fed (200 also when there was none, as HMA answers)."""
    actor = who(request, Permission.LISTS)
    service = get_service(request)
    if manage.delete(service.store, actor, exchange_name):
        service.matchers.mark_stale()
    return {"message": "Exchange deleted"}


@router.get("/c/exchange/{exchange_name}/status")
def exchange_status(request: Request, exchange_name: str) -> dict[str, Any]:
    """HMA's fetch status: checkpoint, a fetch running now, the last one's end and outcome, whether
    it reached the end of the exchange's data, and how many items it has fetched in all."""
    who(request, Permission.MATCH)
    row = next((r for r in exchanges.status(get_service(request).store) if r["name"] == exchange_name), None)
    if row is None:
        raise HmaError(404, f"Exchange '{exchange_name}' not found")
    return {
        # HMA 2.0's fields (python-threatexchange's FetchStatus)
        "checkpoint_ts": row["checkpoint_time"] or None,
        "running_fetch_start_ts": row["running_since"],
        "last_fetch_complete_ts": row["last_fetch_time"] or None,
        "last_fetch_succeeded": row["last_success"],
        "up_to_date": row["up_to_date"],
        "fetched_items": row["fetched"],
        # the older shape HMA's docstring describes, kept for clients written against it
        "last_fetch_time": row["last_fetch_time"],
        "checkpoint_time": row["checkpoint_time"],
        "success": row["success"],
    }


@router.get("/c/signal_type")
def signal_types(request: Request) -> list[dict[str, Any]]:
    """The signal types this server hashes and matches (all enabled)."""
    who(request, Permission.MATCH)
    return [{"name": name, "enabled_ratio": 1.0} for name in SIGNALS.names()]


@router.get("/c/content_type")
def content_types(request: Request) -> list[dict[str, Any]]:
    """The content types whose uploads produce those signals."""
    who(request, Permission.MATCH)
    kinds = sorted({s.content_type for _, s in SIGNALS})
    return [{"name": kind, "enabled": True} for kind in kinds]
