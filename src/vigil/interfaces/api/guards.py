"""What every response and every request body passes through: security headers and size limits.

Headers: the review UI may not be framed (CSP frame-ancestors 'none', X-Frame-Options), may load
nothing from elsewhere, is never cached (`no-store`: previews and reasons stay off disk), and no
response is MIME-sniffed or leaks its URL to another site in a Referer.

Size: a request body over its path's limit is refused with 413 before it is read, from its
Content-Length, or as soon as a body without one grows past the limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from vigil.core.errors import TooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UI_CSP = (
    "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make browsers send "Origin: null" on forms
    (b"x-frame-options", b"DENY"),
]
UI = [(b"content-security-policy", UI_CSP.encode()), (b"cache-control", b"no-store")]


@dataclass(frozen=True)
class Limits:
    default: int = 16 << 20  # JSON bodies, forms
    media: int = 64 << 20  # /v1/match/media, HMA hashing
    imports: int = 2 << 30  # list imports (streamed to a staging table)

    def for_path(self, path: str) -> int:
        if path.startswith("/v1/lists/") and path.endswith("/import"):
            return self.imports
        if path.startswith(("/v1/match/media", "/h/", "/m/")):
            return self.media
        return self.default


class _TooLarge(TooLarge):
    """Raised from inside `receive` to abandon a body that grew past its limit."""


class Guards:
    """ASGI middleware: headers on every response, body limits on every request."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app, self.limits = app, limits or Limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.limits.for_path(path)
        extra = COMMON + (UI if path == "/" or path.startswith("/ui") else [])
        started = over = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if over:  # the body grew past the limit: whatever the app answers becomes one 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(send_headers, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send_headers(message)

        async def send_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in extra if h[0] not in names
                ]
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send_headers, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge(f"request body over {limit} bytes")
            return message

        with contextlib.suppress(_TooLarge):  # raised from `counted` when nothing caught it on the way
            await self.app(scope, counted, send_with_headers)
        if over and not started:
            await _refuse(send_headers, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body over the {limit >> 20} MiB limit for this path"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
