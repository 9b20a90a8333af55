"""HMA's /c bank endpoints: banks and bank content (add, show, update, delete)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil.actions.exchanges.signals import SIGNALS, by_hash_type
from vigil.core.actor import Actor, Permission
from vigil.core.errors import Conflict
from vigil.interfaces.api.service import get_service
from vigil.interfaces.hma.common import HmaError, bank_json, hash_form, hash_url, who
from vigil.lists import banks

router = APIRouter(tags=["hma"])
BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")  # HMA's rule: upper case, digits, underscores, no leading digit


def _check_name(name: str) -> str:
    if not BANK_NAME.fullmatch(name):
        raise HmaError(400, "Bank names must be UPPER_WITH_UNDERSCORE and must not start with a digit")
    return name


@router.get("/c/banks")
def banks_index(request: Request) -> list[dict[str, Any]]:
    """Every bank."""
    who(request, Permission.MATCH)
    return [bank_json(b) for b in banks.banks(get_service(request).store)]


@router.get("/c/bank/{bank_name}")
def bank_show(request: Request, bank_name: str) -> dict[str, Any]:
    """One bank."""
    who(request, Permission.MATCH)
    return bank_json(banks.bank(get_service(request).store, bank_name))


@router.post("/c/banks", status_code=201)
async def bank_create(request: Request) -> dict[str, Any]:
    """Create a bank (an empty `known` list)."""
    actor = who(request, Permission.LISTS)
    body = await request.json()
    name = _check_name(str(body.get("name", "")))
    ratio = body.get("enabled_ratio")
    if ratio is None:
        ratio = 1.0 if body.get("enabled", True) else 0.0
    try:
        created = banks.create_bank(get_service(request).store, actor, name, float(ratio))
    except Conflict as exc:
        raise HmaError(403, str(exc)) from None
    return bank_json(created)


@router.put("/c/bank/{bank_name}")
async def bank_update(request: Request, bank_name: str) -> dict[str, Any]:
    """Rename a bank or change its enabled ratio."""
    actor = who(request, Permission.LISTS)
    body = await request.json()
    new_name = _check_name(str(body["name"])) if body.get("name") is not None else None
    ratio: float | None = None
    if body.get("enabled") is not None:
        ratio = 1.0 if body["enabled"] else 0.0
    if body.get("enabled_ratio") is not None:
        ratio = float(body["enabled_ratio"])
    return bank_json(banks.update_bank(get_service(request).store, actor, bank_name, new_name, ratio))


@router.delete("/c/bank/{bank_name}")
def bank_delete(request: Request, bank_name: str) -> dict[str, str]:
    """Delete a bank (refused while an exchange feeds it)."""
    actor = who(request, Permission.LISTS)
    service = get_service(request)
    try:
        deleted = banks.delete_bank(service.store, actor, bank_name)
    except Conflict as exc:
        raise HmaError(400, str(exc)) from None
    if deleted:
        service.matchers.mark_stale()
    return {"message": "Done"}


class UserMetadata(BaseModel):
    """HMA's metadata for an added content: these three fields and nothing else."""

    model_config = ConfigDict(extra="forbid")
    content_id: str | None = None
    content_uri: str | None = None
    json_data: dict[str, Any] | None = Field(None, alias="json")


def _check_note(note: Any) -> None:
    """HMA's rule for a content's note: absent, or a string of at most 255 characters."""
    if note is not None and (not isinstance(note, str) or len(note) > 255):
        raise HmaError(400, "note must be a string of at most 255 characters")


def _user_metadata(meta: Any) -> dict[str, Any] | None:
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise HmaError(400, "metadata should be a json object")
    meta = {k: v for k, v in meta.items() if k != "collab"}  # provenance is the server's to say
    try:
        checked = UserMetadata.model_validate(meta)
    except ValidationError as exc:
        raise HmaError(400, f"Invalid metadata: {exc.errors()[0]['msg']}") from None
    return checked.model_dump(by_alias=True, exclude_none=True) or None


def _shown_metadata(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """HMA's metadata shape (every field, null when unset); a Vigil extra, `provenance`, carries
    what an exchange said about the record (NCMEC: member ESP, classification)."""
    if not meta:
        return None
    out: dict[str, Any] = {
        "content_id": meta.get("content_id"),
        "content_uri": meta.get("content_uri"),
        "json": meta.get("json"),
        "collab": meta.get("collab"),
    }
    if "provenance" in meta:
        out["provenance"] = meta["provenance"]
    return out


def _add(
    request: Request, actor: Actor, bank_name: str, signals: dict[str, str], note: Any, meta: Any
) -> dict[str, Any]:
    if not signals:
        raise HmaError(400, "No signals given")
    _check_note(note)
    meta = _user_metadata(meta)
    checked: dict[str, str] = {}
    for name, value in signals.items():
        if name not in SIGNALS:
            raise HmaError(400, f"No such signal type {name}")
        try:
            checked[name] = str(SIGNALS.get(name).te_type.validate_signal_str(str(value).strip().lower()))
        except Exception as exc:  # threatexchange raises ValueError and others
            raise HmaError(400, f"Invalid {name} signal: {exc}") from None
    service = get_service(request)
    by_type = {SIGNALS.get(n).hash_type: v for n, v in checked.items()}
    content_id = banks.add_content(service.store, actor, bank_name, by_type, note, meta)
    service.matchers.mark_stale()
    return {"id": content_id, "signals": checked}


@router.post("/c/bank/{bank_name}/content")
async def bank_add_content(
    request: Request, bank_name: str, url: str | None = None, content_type: str | None = None
) -> dict[str, Any]:
    """Hash an upload (or an allowed URL) and add it to the bank as one content."""
    actor = who(request, Permission.LISTS)
    note: Any = None
    meta: Any = None
    if url:
        hashes = hash_url(get_service(request), url, content_type)
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.json()
            note, meta = body.get("note"), body.get("metadata")
    else:
        if "multipart/form-data" not in request.headers.get("content-type", ""):
            raise HmaError(400, "Neither `url` nor multipart file upload was received")
        form = await request.form()
        note = form.get("note")
        if form.get("metadata"):
            try:
                meta = json.loads(str(form["metadata"]))
            except ValueError:
                raise HmaError(400, "metadata form field must be valid JSON") from None
        hashes = await hash_form(request)
    return _add(request, actor, bank_name, hashes, note, meta)


@router.post("/c/bank/{bank_name}/signal")
async def bank_add_signal(request: Request, bank_name: str) -> dict[str, Any]:
    """Add signals given as values (`{"pdq": "..."}`) to the bank as one content."""
    actor = who(request, Permission.LISTS)
    body = await request.json()
    if not isinstance(body, dict):
        raise HmaError(400, "Request input was not a dict")
    note = body.pop("note", None)
    return _add(request, actor, bank_name, {k: str(v) for k, v in body.items()}, note, None)


@router.get("/c/bank/{bank_name}/content/{content_id}")
def bank_get_content(
    request: Request,
    bank_name: str,
    content_id: int,
    include_signals: bool = False,
    include_metadata: bool = True,
) -> dict[str, Any]:
    """One content of a bank: disable time, note, metadata and (on request) its signals."""
    who(request, Permission.MATCH)
    found = banks.content(get_service(request).store, bank_name, content_id)
    out: dict[str, Any] = {
        "id": content_id,
        "disable_until_ts": found.disable_until_ts,
        "original_media_uri": None,
        "bank": bank_json(found.bank),
    }
    if include_signals:
        out["signals"] = {s.name: value for kind, value in found.signals if (s := by_hash_type(kind))}
    shown = _shown_metadata(found.meta) if include_metadata else None
    if shown is not None:
        out["metadata"] = shown
    if found.note:
        out["note"] = found.note
    return out


FIVE_YEARS = 5 * 365 * 24 * 3600


def _until(value: Any) -> int:
    """HMA's rules for `disable_until_ts`: an integer (or its digits as text), not negative, and less
    than five years ahead (9999999999 is a typo, not a plan)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise HmaError(400, "disable_until_ts must be a non-negative integer")
    try:
        until = int(value)
    except ValueError:
        raise HmaError(400, "disable_until_ts must be a non-negative integer") from None
    if until < 0:
        raise HmaError(400, "disable_until_ts must be a non-negative integer")
    if until > time.time() + FIVE_YEARS:
        raise HmaError(400, "disable_until_ts must be less than 5 years in the future")
    return until


@router.put("/c/bank/{bank_name}/content/{content_id}")
async def bank_update_content(request: Request, bank_name: str, content_id: int) -> dict[str, Any]:
    """Disable a content until a time (0 off, 1 on) or change its note."""
    actor = who(request, Permission.LISTS)
    body = await request.json()
    if not isinstance(body, dict):
        raise HmaError(400, "the body must be a JSON object")
    until = _until(body["disable_until_ts"]) if "disable_until_ts" in body else None
    _check_note(body.get("note"))
    changes = {k: body[k] for k in ("note",) if k in body}
    if until is not None:
        changes["disable_until_ts"] = until
    try:
        now = banks.update_content(get_service(request).store, actor, bank_name, content_id, changes)
    except Conflict as exc:
        raise HmaError(400, str(exc)) from None
    get_service(request).matchers.mark_stale()
    return {"id": content_id, "disable_until_ts": now}


@router.delete("/c/bank/{bank_name}/content/{content_id}")
def bank_delete_content(request: Request, bank_name: str, content_id: int) -> dict[str, int]:
    """Take one content's signals off the bank."""
    actor = who(request, Permission.LISTS)
    service = get_service(request)
    deleted = banks.delete_content(service.store, actor, bank_name, content_id)
    service.matchers.mark_stale()
    return {"deleted": deleted}
