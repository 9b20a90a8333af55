"""What the HMA routers share: HMA's error shape, who is calling, signal-type checks, hashing inputs."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from fastapi import Request

from vigil.actions.exchanges.signals import SIGNALS, SharedSignal
from vigil.core.actor import Actor, Permission, Role
from vigil.core.errors import VigilError
from vigil.interfaces.api.deps import principal
from vigil.interfaces.api.service import Service, get_service
from vigil.lists.banks import Bank
from vigil.signals.compute import compute, crypto_hashes
from vigil.web.fetch import STRICT, TooLarge, get_sync


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
        md5, _sha1, sha256 = crypto_hashes(data)
        return {"video_md5": md5, "video_sha256": sha256}
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


ANY_HOST = "*"  # in hma_allowed_hosts: any public host (HMA's default), never a private address


def _named(host: str, allowed: tuple[str, ...]) -> bool:
    """The host, or a domain it is under, is named on the allow-list."""
    return any(host == a or host.endswith(f".{a}") for a in allowed)


def url_problem(url: str | None, allowed: tuple[str, ...]) -> str | None:
    """Why HMA's URL hashing must not fetch `url`, or None when it may: an http(s) URL with a host,
    a numeric port if one is written, and a host on the allow-list (or any host with `*`)."""
    if not url:
        return "Invalid URL: a URL is required"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"Invalid URL: {exc}"
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host or parts.netloc.endswith(":"):
        return "Invalid URL: an http(s) URL with a host (and a port, if any, that is a number) is needed"
    if port is not None and not 0 < port < 65536:
        return "Invalid URL: the port is out of range"
    if ANY_HOST not in allowed and not _named(host, allowed):
        return "URL hashing is limited to configured hosts (VIGIL_HMA_ALLOWED_HOSTS)"
    return None


def hash_url(service: Service, url: str, content_type: str | None) -> dict[str, str]:
    """Fetch and hash a URL from an allowed host (no open fetcher on the network): a host named in
    the allow-list may be anywhere, one allowed only by `*` must resolve to public addresses. A body
    larger than the configured limit is refused from its Content-Length, before it is read."""
    allowed = service.config.hma_allowed_hosts
    problem = url_problem(url, allowed)
    if problem:
        raise HmaError(400, problem)
    host = urlsplit(url).hostname or ""
    named = _named(host, allowed)
    limit = service.config.hma_max_remote_file_size
    try:
        got = get_sync(url, timeout=30, max_bytes=limit, addresses=None if named else STRICT)
    except TooLarge:
        raise HmaError(413, "Content too large") from None
    except (httpx.HTTPError, OSError, VigilError) as exc:
        raise HmaError(400, f"Failed to fetch URL: {exc}") from None
    if got.status >= 400:
        raise HmaError(400, f"Failed to fetch URL: HTTP {got.status}")
    kind = content_type or ("video" if url.lower().endswith((".mp4", ".mov", ".webm", ".mkv")) else "photo")
    return hash_upload(kind, got.body)
