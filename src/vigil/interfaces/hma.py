"""An HMA-compatible subset of endpoints, served beside the native /v1 API.

Meta's Hasher-Matcher-Actioner (open-media-match) is what many platforms already script against.
These routes answer the same paths, parameters and JSON shapes, so an HMA client pointed at Vigil works
unchanged: /h/hash, /m/raw_lookup, /m/lookup, /m/compare, /m/index/status, /c/banks, /c/bank/...,
/c/exchanges, /status. Banks are Vigil's `known` lists; a bank content id is the entry id of its first
signal. Errors are `{"message": ...}` as in HMA. What is covered and what is not: docs/hma-api.md.

Two deliberate differences: requests need an API key unless the deployment names a role for keyless
callers (HMA's trust-the-network model), and hashing a URL fetches only from configured hosts.
"""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.actions.exchanges import sync as exchanges
from vigil.actions.exchanges.signals import SIGNALS, SharedSignal, by_hash_type
from vigil.lists.formats.base import make_row
from vigil.lists.store import import_rows
from vigil.review.keys import ROLE_PERMISSIONS, Principal
from vigil.signals.compute import compute, crypto_hashes
from vigil.signals.pdq import hamming
from vigil.store import audit
from vigil.store.models import BankContent, Entry, EntrySource, Exchange, HashList
from vigil.web.fetch import TooLarge, get_sync

BANK_NAME = re.compile(r"^[A-Z0-9_]+$")
MAX_FETCH = 100 * 1024 * 1024


class HmaError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _enabled(disable_until_ts: int) -> bool:
    return disable_until_ts == 1 or (disable_until_ts > 1 and disable_until_ts <= time.time())


def _signal(name: str | None) -> SharedSignal:
    if not name or name not in SIGNALS:
        raise HmaError(400, f"No such SignalType '{name}'")
    return SIGNALS.get(name)


def _validated(shared: SharedSignal, value: str) -> str:
    try:
        return str(shared.te_type.validate_signal_str(value.strip().lower()))
    except Exception as exc:  # threatexchange raises ValueError and others
        raise HmaError(400, f"invalid signal: {exc}") from None


def _bank(session: Session, name: str) -> HashList:
    bank = session.scalar(select(HashList).where(HashList.name == name, HashList.purpose == "known"))
    if bank is None:
        raise HmaError(404, f"bank '{name}' not found")
    return bank


def _bank_json(bank: HashList) -> dict[str, Any]:
    return {"name": bank.name, "matching_enabled_ratio": bank.matching_enabled_ratio}


def install(app: FastAPI, service: Any, principal: Callable[[Request], Principal | None]) -> None:
    router = APIRouter(tags=["hma"])
    store = service.store
    config = service.config
    if config.hma_anonymous_role is not None and config.hma_anonymous_role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {config.hma_anonymous_role!r} for keyless HMA callers")
    dirty = {"index": False}

    def who(request: Request, permission: str) -> Principal:
        found = principal(request)
        if found is None and config.hma_anonymous_role:
            role = config.hma_anonymous_role
            found = Principal(0, f"hma-anonymous@{request.client.host if request.client else '?'}", role)
        if found is None:
            raise HmaError(401, "missing or unknown API key")
        if not found.can(permission):
            raise HmaError(403, f"role {found.role} lacks permission {permission!r}")
        return found

    def matcher() -> Any:
        if dirty["index"]:
            service.reload_matcher()
            dirty["index"] = False
        return service.matcher

    def hash_upload(field: str, data: bytes) -> dict[str, str]:
        if field == "photo":
            signals = compute("upload", data, "exact")
            if not signals.pdq:
                raise HmaError(400, f"could not hash photo: {signals.error or 'not an image'}")
            return {"pdq": signals.pdq}
        if field == "video":
            return {"video_md5": crypto_hashes(data)[0]}
        raise HmaError(400, f"no such content_type: '{field}'")

    async def hash_form(request: Request) -> dict[str, str]:
        form = await request.form()
        files = [(k, v) for k, v in form.multi_items() if hasattr(v, "read")]
        if not files:
            raise HmaError(400, "Missing multipart/form-data file upload")
        if len(files) > 1:
            raise HmaError(400, "Only one file allowed per request")
        field, upload = files[0]
        return hash_upload(field, await upload.read())

    def hash_url(url: str, content_type: str | None) -> dict[str, str]:
        host = httpx.URL(url).host
        allowed = config.hma_allowed_hosts
        if not allowed or not any(host == a or host.endswith(f".{a}") for a in allowed):
            raise HmaError(400, "URL hashing is limited to configured hosts (VIGIL_HMA_ALLOWED_HOSTS)")
        try:
            got = get_sync(url, timeout=30, max_bytes=MAX_FETCH)
        except TooLarge:
            raise HmaError(413, "Content too large") from None
        except httpx.HTTPError as exc:
            raise HmaError(400, f"Failed to fetch URL: {exc}") from None
        if got.status >= 400:
            raise HmaError(400, f"Failed to fetch URL: HTTP {got.status}")
        data = got.body
        kind = content_type or (
            "video" if url.lower().endswith((".mp4", ".mov", ".webm", ".mkv")) else "photo"
        )
        return hash_upload(kind, data)

    def lookup(
        signal_type: str, value: str, banks: set[str] | None, seed: str | None, bypass: bool
    ) -> dict[str, list[dict[str, Any]]]:
        shared = _signal(signal_type)
        value = _validated(shared, value)
        found = matcher().match_hashes([(shared.hash_type, value)])
        distance = {m.entry_id: int(m.distance) for m in found}
        coin = 0.0 if bypass else random.Random(seed).random()
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with store.session() as session:
            rows = session.execute(
                select(HashList.name, HashList.matching_enabled_ratio, EntrySource.entry_id, BankContent)
                .join(EntrySource, EntrySource.list_id == HashList.id)
                .outerjoin(
                    BankContent,
                    (BankContent.list_id == HashList.id) & (BankContent.entry_id == EntrySource.entry_id),
                )
                .where(EntrySource.entry_id.in_(list(distance)), HashList.purpose == "known")
            ).all()
        for bank, ratio, entry_id, content in rows:
            if (banks is not None and bank not in banks) or ratio < coin:
                continue
            if content is not None and not _enabled(content.disable_until_ts):
                continue
            cid = content.primary_entry_id if content is not None and content.primary_entry_id else entry_id
            out[bank].append({"bank_content_id": cid, "distance": str(distance[entry_id])})
        return dict(out)

    @router.get("/status", response_class=PlainTextResponse)
    def status() -> str:
        return "I-AM-ALIVE"

    @router.get("/h/hash")
    def hash_get(request: Request, url: str, content_type: str | None = None) -> dict[str, str]:
        who(request, "match")
        return hash_url(url, content_type)

    @router.post("/h/hash")
    async def hash_post(request: Request) -> dict[str, str]:
        who(request, "match")
        return await hash_form(request)

    @router.get("/m/raw_lookup")
    def raw_lookup(
        request: Request,
        signal: str,
        signal_type: str,
        banks: str | None = None,
        include_distance: bool = False,
    ) -> dict[str, Any]:
        who(request, "match")
        wanted = set(banks.split(",")) if banks else None
        found = lookup(signal_type, signal, wanted, None, True)
        matches = [m for ms in found.values() for m in ms]
        if include_distance:
            return {"matches": matches}
        return {"matches": sorted({m["bank_content_id"] for m in matches})}

    @router.get("/m/lookup")
    def lookup_get(
        request: Request,
        url: str | None = None,
        content_type: str | None = None,
        signal: str | None = None,
        signal_type: str | None = None,
        banks: str | None = None,
        seed: str | None = None,
        bypass_coinflip: bool = False,
    ) -> dict[str, Any]:
        who(request, "match")
        wanted = set(banks.split(",")) if banks else None
        if url:
            hashes = hash_url(url, content_type)
            result = {st: lookup(st, v, wanted, seed, bypass_coinflip) for st, v in hashes.items()}
            return result.get(signal_type, {}) if signal_type else result
        if not signal or not signal_type:
            raise HmaError(400, "Either url or both signal and signal_type are required")
        return lookup(signal_type, signal, wanted, seed, bypass_coinflip)

    @router.post("/m/lookup")
    async def lookup_post(
        request: Request, banks: str | None = None, seed: str | None = None, bypass_coinflip: bool = False
    ) -> dict[str, Any]:
        who(request, "match")
        wanted = set(banks.split(",")) if banks else None
        hashes = await hash_form(request)
        return {st: lookup(st, v, wanted, seed, bypass_coinflip) for st, v in hashes.items()}

    @router.post("/m/compare")
    async def compare(request: Request) -> dict[str, Any]:
        who(request, "match")
        body = await request.json()
        if not isinstance(body, dict):
            raise HmaError(400, "Request input was not a dict")
        out: dict[str, Any] = {}
        for name, pair in body.items():
            if not isinstance(pair, list):
                raise HmaError(400, f"Comparison hashes for {name} was not a list")
            if len(pair) != 2:
                raise HmaError(400, "Comparison hash list length must be exactly 2")
            shared = _signal(name)
            left, right = (_validated(shared, str(h)) for h in pair)
            if shared.name == "pdq":
                d = hamming(left, right)
                out[name] = [d <= service.matcher.config.radius, {"distance": d}]
            else:
                out[name] = [left == right, {"distance": 0 if left == right else 1}]
        return out

    @router.get("/m/index/status")
    def index_status(request: Request, signal_type: str | None = None) -> dict[str, Any]:
        who(request, "match")
        names = [signal_type] if signal_type else SIGNALS.names()
        out = {}
        with store.session() as session:
            for name in names:
                shared = _signal(name)
                size = (
                    session.scalar(
                        select(func.count(func.distinct(EntrySource.entry_id)))
                        .join(Entry, Entry.id == EntrySource.entry_id)
                        .join(HashList, HashList.id == EntrySource.list_id)
                        .where(Entry.hash_type == shared.hash_type, HashList.purpose == "known")
                    )
                    or 0
                )
                out[name] = {"present": True, "built_to": int(time.time()), "size": int(size)}
        return out

    # ------------------------------------------------------------------ curation
    @router.get("/c/banks")
    def banks_index(request: Request) -> list[dict[str, Any]]:
        who(request, "match")
        with store.session() as session:
            return [
                _bank_json(b)
                for b in session.scalars(
                    select(HashList).where(HashList.purpose == "known").order_by(HashList.name)
                )
            ]

    @router.get("/c/bank/{bank_name}")
    def bank_show(request: Request, bank_name: str) -> dict[str, Any]:
        who(request, "match")
        with store.session() as session:
            return _bank_json(_bank(session, bank_name))

    @router.post("/c/banks", status_code=201)
    async def bank_create(request: Request) -> dict[str, Any]:
        actor = who(request, "lists")
        body = await request.json()
        name = str(body.get("name", ""))
        if not BANK_NAME.match(name):
            raise HmaError(400, "Bank names must be UPPER_WITH_UNDERSCORE")
        ratio = body.get("enabled_ratio")
        if ratio is None:
            ratio = 1.0 if body.get("enabled", True) else 0.0
        with store.session() as session:
            if session.scalar(select(HashList).where(HashList.name == name)) is not None:
                raise HmaError(403, "Bank already exists")
            bank = HashList(name=name, purpose="known", source="hma-api", matching_enabled_ratio=float(ratio))
            session.add(bank)
            session.flush()
            audit.record(session, actor.actor, "hma.bank_create", name, {"enabled_ratio": ratio})
            session.commit()
            return _bank_json(bank)

    @router.put("/c/bank/{bank_name}")
    async def bank_update(request: Request, bank_name: str) -> dict[str, Any]:
        actor = who(request, "lists")
        body = await request.json()
        with store.session() as session:
            bank = _bank(session, bank_name)
            if body.get("name") is not None:
                if not BANK_NAME.match(str(body["name"])):
                    raise HmaError(400, "Bank names must be UPPER_WITH_UNDERSCORE")
                bank.name = str(body["name"])
            if body.get("enabled") is not None:
                bank.matching_enabled_ratio = 1.0 if body["enabled"] else 0.0
            if body.get("enabled_ratio") is not None:
                bank.matching_enabled_ratio = float(body["enabled_ratio"])
            audit.record(session, actor.actor, "hma.bank_update", bank_name, body)
            session.commit()
            return _bank_json(bank)

    @router.delete("/c/bank/{bank_name}")
    def bank_delete(request: Request, bank_name: str) -> dict[str, str]:
        actor = who(request, "lists")
        with store.session() as session:
            bank = session.scalar(
                select(HashList).where(HashList.name == bank_name, HashList.purpose == "known")
            )
            if bank is not None:
                if session.scalar(select(Exchange).where(Exchange.list_id == bank.id)) is not None:
                    raise HmaError(400, "bank is fed by an exchange; remove the exchange first")
                session.delete(bank)
                audit.record(session, actor.actor, "hma.bank_delete", bank_name, None)
                session.commit()
                dirty["index"] = True
        return {"message": "Done"}

    def add_signals(
        actor: Principal,
        bank_name: str,
        signals: dict[str, str],
        note: str | None,
        meta: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if not signals:
            raise HmaError(400, "No signals given")
        if note is not None and (not isinstance(note, str) or len(note) > 255):
            raise HmaError(400, "note must be a string of at most 255 characters")
        checked = {}
        for name, value in signals.items():
            if name not in SIGNALS:
                raise HmaError(400, f"No such signal type {name}")
            try:
                checked[name] = str(SIGNALS.get(name).te_type.validate_signal_str(str(value).strip().lower()))
            except Exception as exc:
                raise HmaError(400, f"Invalid {name} signal: {exc}") from None
        with store.session() as session:
            bank_id = _bank(session, bank_name).id
        rows = [
            make_row(f"hma:{bank_name}", SIGNALS.get(n).hash_type, v, None, f"hma:{actor.actor}")
            for n, v in checked.items()
        ]
        import_rows(store, bank_name, [r for r in rows])
        with store.session() as session:
            ids = [
                session.scalar(
                    select(Entry.id).where(Entry.hash_type == SIGNALS.get(n).hash_type, Entry.value == v)
                )
                for n, v in checked.items()
            ]
            primary = ids[0]
            for entry_id in ids:
                assert entry_id is not None
                row = session.get(BankContent, (bank_id, entry_id)) or BankContent(
                    list_id=bank_id, entry_id=entry_id
                )
                row.primary_entry_id = None if entry_id == primary else primary
                row.note, row.meta, row.disable_until_ts = note, meta, 1
                session.merge(row)
            audit.record(
                session, actor.actor, "hma.bank_add", bank_name, {"content_id": primary, "signals": checked}
            )
            session.commit()
        dirty["index"] = True
        return {"id": primary, "signals": checked}

    @router.post("/c/bank/{bank_name}/content")
    async def bank_add_content(
        request: Request, bank_name: str, url: str | None = None, content_type: str | None = None
    ) -> dict[str, Any]:
        actor = who(request, "lists")
        note: Any = None
        meta: Any = None
        if url:
            hashes = hash_url(url, content_type)
            if request.headers.get("content-type", "").startswith("application/json"):
                body = await request.json()
                note, meta = body.get("note"), body.get("metadata")
        else:
            if "multipart/form-data" not in request.headers.get("content-type", ""):
                raise HmaError(400, "Neither `url` nor multipart file upload was received")
            form = await request.form()
            note = form.get("note")
            if form.get("metadata"):
                import json

                try:
                    meta = json.loads(str(form["metadata"]))
                except ValueError:
                    raise HmaError(400, "metadata form field must be valid JSON") from None
            hashes = await hash_form(request)
        if meta is not None and not isinstance(meta, dict):
            raise HmaError(400, "metadata should be a json object")
        return add_signals(actor, bank_name, hashes, note, meta)

    @router.post("/c/bank/{bank_name}/signal")
    async def bank_add_signal(request: Request, bank_name: str) -> dict[str, Any]:
        actor = who(request, "lists")
        body = await request.json()
        if not isinstance(body, dict):
            raise HmaError(400, "Request input was not a dict")
        note = body.pop("note", None)
        return add_signals(actor, bank_name, {k: str(v) for k, v in body.items()}, note, None)

    def content_rows(
        session: Session, bank: HashList, content_id: int
    ) -> list[tuple[Entry, BankContent | None]]:
        on_bank = session.execute(
            select(Entry, BankContent)
            .join(EntrySource, (EntrySource.entry_id == Entry.id) & (EntrySource.list_id == bank.id))
            .outerjoin(BankContent, (BankContent.entry_id == Entry.id) & (BankContent.list_id == bank.id))
            .where((Entry.id == content_id) | (BankContent.primary_entry_id == content_id))
        ).all()
        return [(e, c) for e, c in on_bank]

    @router.get("/c/bank/{bank_name}/content/{content_id}")
    def bank_get_content(
        request: Request,
        bank_name: str,
        content_id: int,
        include_signals: bool = False,
        include_metadata: bool = True,
    ) -> dict[str, Any]:
        who(request, "match")
        with store.session() as session:
            bank = _bank(session, bank_name)
            rows = content_rows(session, bank, content_id)
            if not rows:
                raise HmaError(404, f"content '{content_id}' not found")
            head = next((c for e, c in rows if e.id == content_id), None)
            out: dict[str, Any] = {
                "id": content_id,
                "disable_until_ts": head.disable_until_ts if head else 1,
                "original_media_uri": None,
                "bank": _bank_json(bank),
            }
            if include_signals:
                out["signals"] = {s.name: e.value for e, _ in rows if (s := by_hash_type(e.hash_type))}
            if include_metadata and head is not None and head.meta:
                out["metadata"] = head.meta
            if head is not None and head.note:
                out["note"] = head.note
            return out

    @router.put("/c/bank/{bank_name}/content/{content_id}")
    async def bank_update_content(request: Request, bank_name: str, content_id: int) -> dict[str, Any]:
        actor = who(request, "lists")
        body = await request.json()
        with store.session() as session:
            bank = _bank(session, bank_name)
            rows = content_rows(session, bank, content_id)
            if not rows:
                raise HmaError(404, f"content '{content_id}' not found")
            until = body.get("disable_until_ts")
            if until is not None and (not isinstance(until, int) or until < 0):
                raise HmaError(400, "disable_until_ts must be a non-negative integer")
            for entry, content in rows:
                row = content or BankContent(
                    list_id=bank.id,
                    entry_id=entry.id,
                    primary_entry_id=None if entry.id == content_id else content_id,
                )
                if until is not None:
                    row.disable_until_ts = until
                if "note" in body and entry.id == content_id:
                    row.note = body["note"] or None
                session.merge(row)
            audit.record(session, actor.actor, "hma.content_update", f"{bank_name}/{content_id}", body)
            session.commit()
        return {"id": content_id, "disable_until_ts": until if until is not None else 1}

    @router.delete("/c/bank/{bank_name}/content/{content_id}")
    def bank_delete_content(request: Request, bank_name: str, content_id: int) -> dict[str, int]:
        actor = who(request, "lists")
        with store.session() as session:
            bank = _bank(session, bank_name)
            rows = content_rows(session, bank, content_id)
            for entry, content in rows:
                source = session.get(EntrySource, (entry.id, bank.id))
                if source is not None:
                    session.delete(source)
                if content is not None:
                    session.delete(content)
            audit.record(session, actor.actor, "hma.content_delete", f"{bank_name}/{content_id}", None)
            session.commit()
        dirty["index"] = True
        return {"deleted": 1 if rows else 0}

    @router.get("/c/exchanges")
    def exchange_list(request: Request) -> list[str]:
        who(request, "match")
        return [row["name"] for row in exchanges.status(store)]

    @router.get("/c/exchange/{exchange_name}/status")
    def exchange_status(request: Request, exchange_name: str) -> dict[str, Any]:
        who(request, "match")
        row = next((r for r in exchanges.status(store) if r["name"] == exchange_name), None)
        if row is None:
            raise HmaError(404, f"Exchange '{exchange_name}' not found")
        return {
            "last_fetch_time": row["last_fetch_time"],
            "checkpoint_time": row["checkpoint_time"],
            "success": row["success"],
        }

    @app.exception_handler(HmaError)
    async def hma_error(_request: Request, exc: HmaError) -> JSONResponse:
        return JSONResponse({"message": exc.message}, status_code=exc.status)

    app.include_router(router)
