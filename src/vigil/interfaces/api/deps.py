"""Authentication for the native API and UI: an API key (header, bearer or UI cookie) is an Actor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.service import Service, get_service
from vigil.review.keys import authenticate
from vigil.store import audit

COOKIE = "vigil_key"
ServiceDep = Annotated[Service, Depends(get_service)]


def principal(request: Request) -> Actor | None:
    """The key's holder, from `X-API-Key`, `Authorization: Bearer` or the UI's login cookie."""
    key = request.headers.get("X-API-Key") or request.cookies.get(COOKIE)
    auth = request.headers.get("Authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:]
    return authenticate(get_service(request).store, key)


def need(permission: Permission) -> Any:
    """A dependency that answers 401 without a valid key and 403 (audited) without the permission."""

    def check(request: Request) -> Actor:
        who = principal(request)
        if who is None:
            raise HTTPException(401, "missing or unknown API key")
        if not who.can(permission):
            audit.log(
                get_service(request).store,
                who,
                "access.denied",
                request.url.path,
                {"permission": permission.value},
            )
            raise HTTPException(403, f"role {who.role} lacks permission {permission.value!r}")
        return who

    return Depends(check)
