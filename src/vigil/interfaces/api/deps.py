"""Authentication for the native API: an API key in a header is an Actor.

The JSON API never accepts the review UI's session cookie: a page on another tab of the same site
cannot make the browser call `/v1` with the reviewer's rights. Every 401 and 403 is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.service import Service, get_service
from vigil.review.keys import authenticate
from vigil.store import audit

ServiceDep = Annotated[Service, Depends(get_service)]


def principal(request: Request) -> Actor | None:
    """The key's holder, from `X-API-Key` or `Authorization: Bearer` (never a cookie)."""
    key = request.headers.get("X-API-Key")
    auth = request.headers.get("Authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:]
    return authenticate(get_service(request).store, key)


ANONYMOUS = Actor.system("anonymous")  # who refused, key-less requests are recorded under


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def need(permission: Permission, *also: Permission) -> Any:
    """A dependency that answers 401 without a valid key and 403 (audited) without the permission
    (or any one of `also`)."""

    def check(request: Request) -> Actor:
        who = principal(request)
        if who is None:
            audit.log(
                get_service(request).store,
                ANONYMOUS,
                "access.unauthenticated",
                request.url.path,
                {"client": client_of(request)},
            )
            raise HTTPException(401, "missing or unknown API key (send it as X-API-Key)")
        service = get_service(request)
        if not service.rate.allow(who.label):
            raise HTTPException(429, "too many requests for this key; slow down", {"Retry-After": "1"})
        if not any(who.can(p) for p in (permission, *also)):
            names = " or ".join(repr(p.value) for p in (permission, *also))
            audit.log(
                get_service(request).store,
                who,
                "access.denied",
                request.url.path,
                {"permission": names.replace("'", "")},
            )
            raise HTTPException(403, f"role {who.role} lacks permission {names}")
        return who

    return Depends(check)
