"""What the HMA routers share: HMA's error shape, who is calling, signal-type checks, hashing inputs."""

from __future__ import annotations

import httpx
from fastapi import Request

from vigil.actions.exchanges.signals import SIGNALS, SharedSignal
from vigil.core.actor import Actor, Permission, Role
from vigil.core.errors import VigilError
from vigil.interfaces.api.deps import principal
from vigil.interfaces.api.service import Service, get_service
from vigil.lists.banks import Bank
from vigil.signals.compute import compute, crypto_hashes
from vigil.web.fetch import TooLarge, get_sync

MAX_FETCH = 100 * 1024 * 1024


class HmaError(VigilError):
    """An HMA-shaped refusal: `{"message": ...}` with the status HMA would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def who(request: Request, permission: Permission) -> Actor:
    """The key's holder, else the configured role for keyless callers (HMA's trust-the-network model)."""
    found = principal(request)
    role = get_service(request).config.hma_anonymous_role
    if found is None and role:
        host = request.client.host if request.client else "?"
        found = Actor(f"hma-anonymous@{host}", Role(role))
    if found is None:
        raise HmaError(401, "missing or unknown API key")
    if not found.can(permission):
        raise HmaError(403, f"role {found.role} lacks permission {permission.value!r}")
    return found


def signal_type(name: str | None) -> SharedSignal:
    if not name or name not in SIGNALS:
        raise HmaError(400, f"No such SignalType '{name}'")
    return SIGNALS.get(name)


def validated(shared: SharedSignal, value: str) -> str:
    try:
        return str(shared.te_type.validate_signal_str(value.strip().lower()))
    except Exception as exc:  # threatexchange raises ValueError and others
        raise HmaError(400, f"invalid signal: {exc}") from None


def bank_json(bank: Bank) -> dict[str, object]:
    return {"name": bank.name, "matching_enabled_ratio": bank.matching_enabled_ratio}


PDQ_MIN_QUALITY = 50  # python-threatexchange's PdqSignal.QUALITY_THRESHOLD, which HMA applies


def hash_upload(field: str, data: bytes) -> dict[str, str]:
    """HMA signal name -> value for an uploaded photo (PDQ) or video (MD5 of the file)."""
    if field == "photo":
        signals = compute("upload", data, "exact")
        if not signals.pdq:
            raise HmaError(400, f"could not hash photo: {signals.error or 'not an image'}")
        if (signals.pdq_quality or 0) < PDQ_MIN_QUALITY:
            return {"pdq": ""}  # as HMA: too flat to match on, so no hash (and a bank refuses it)
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


def hash_url(service: Service, url: str, content_type: str | None) -> dict[str, str]:
    """Fetch and hash a URL, from configured hosts only (no open fetcher on the network). A URL that
    does not parse (a port that is no number) is the caller's error: 400, as HMA answers."""
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except httpx.InvalidURL as exc:
        raise HmaError(400, f"Invalid URL: {exc}") from None
    host = parsed.host
    if parsed.scheme not in ("http", "https") or not host or (port is not None and not 0 < port < 65536):
        raise HmaError(400, "Invalid URL: an http(s) URL with a host and a valid port is needed")
    allowed = service.config.hma_allowed_hosts
    if not allowed or not any(host == a or host.endswith(f".{a}") for a in allowed):
        raise HmaError(400, "URL hashing is limited to configured hosts (VIGIL_HMA_ALLOWED_HOSTS)")
    try:
        got = get_sync(url, timeout=30, max_bytes=MAX_FETCH, addresses=None)  # the host allow-list rules
    except TooLarge:
        raise HmaError(413, "Content too large") from None
    except httpx.HTTPError as exc:
        raise HmaError(400, f"Failed to fetch URL: {exc}") from None
    if got.status >= 400:
        raise HmaError(400, f"Failed to fetch URL: HTTP {got.status}")
    kind = content_type or ("video" if url.lower().endswith((".mp4", ".mov", ".webm", ".mkv")) else "photo")
    return hash_upload(kind, got.body)
