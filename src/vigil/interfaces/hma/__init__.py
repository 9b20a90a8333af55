"""An HMA-compatible API beside the native /v1 API: one more adapter over the same domain layer.

Meta's Hasher-Matcher-Actioner (open-media-match) is what many platforms already script against.
These routes answer the same paths, parameters and JSON shapes, so an HMA client pointed at Vigil works
unchanged: /h (hashing), /m (matching), /c (curation: banks, content, exchanges), /status,
/status/live, /site-map and /openapi/openapi.json. Banks
are Vigil's `known` lists (`vigil.lists.banks`). Errors are `{"message": ...}` as in HMA. What is
covered and what is not: docs/hma-api.md.

Two deliberate differences: requests need an API key unless the deployment names a role for keyless
callers (HMA's trust-the-network model), and hashing a URL fetches only from configured hosts.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from vigil.core.actor import KEY_ROLES
from vigil.core.errors import InvalidInput
from vigil.interfaces.api.service import Service
from vigil.interfaces.hma import core, curation, exchanges, hashing, matching
from vigil.interfaces.hma.common import HmaError


def install(app: FastAPI, service: Service) -> list[APIRouter]:
    """Add the HMA routes to `app`; returns their routers (for the site map and HMA's OpenAPI)."""
    role = service.config.hma_anonymous_role
    if role is not None and role not in {r.value for r in KEY_ROLES}:
        raise InvalidInput(f"unknown role {role!r} for keyless HMA callers")

    @app.exception_handler(HmaError)
    async def hma_error(_request: Request, exc: HmaError) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=exc.status)

    routers = [module.router for module in (core, hashing, matching, curation, exchanges)]
    for router in routers:
        app.include_router(router)
    app.state.hma_routes = [route for router in routers for route in router.routes]
    return routers
