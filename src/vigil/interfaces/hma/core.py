"""HMA's core routes: /status (readiness), /status/live (liveness), /site-map and OpenAPI.

Orchestrators probe /status/live (a Kubernetes livenessProbe copied from an HMA deployment), clients
generate code from /openapi/openapi.json and explore with /site-map; each answers as HMA's does.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute

from vigil.core.actor import Permission
from vigil.interfaces.api.service import get_service
from vigil.interfaces.hma.common import who

router = APIRouter(tags=["hma"])
HMA_TITLE = "Open Media Match API"  # what HMA clients (and HMA's own tests) look for


@router.get("/status", response_class=PlainTextResponse)
def status(request: Request) -> PlainTextResponse:
    """Readiness, as HMA answers it: 503 INDEX-NOT-LOADED before an index serves, 503 INDEX-STALE
    when nothing has compared the index with the store for longer than the configured limit (the
    refresher stopped), else I-AM-ALIVE. Reads no database, so a load balancer may poll it freely."""
    service = get_service(request)
    matchers = service.matchers
    if not matchers.ready:
        return PlainTextResponse("INDEX-NOT-LOADED", status_code=503)
    limit = service.config.hma_index_stale_after
    if limit and time.time() - matchers.checked_at > limit:
        return PlainTextResponse("INDEX-STALE", status_code=503)
    return PlainTextResponse("I-AM-ALIVE")


@router.get("/status/live", response_class=PlainTextResponse)
def status_live() -> str:
    """Liveness only: 200 whenever the process can serve HTTP, whatever the index is doing, so a
    probe never restarts an instance that is still loading."""
    return "I-AM-ALIVE"


@router.get("/site-map")
def site_map(request: Request) -> list[str]:
    """Every route path the service answers, sorted, each once (HMA's shape)."""
    return list(request.app.state.site_map)


@router.get("/openapi/openapi.json", include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    """The HMA-compatible routes as an OpenAPI document, at HMA's path and under HMA's title.
    Public only where the deployment makes its docs public; otherwise for key holders (and the
    keyless role, when one is configured)."""
    if not get_service(request).config.public_docs:
        who(request, Permission.MATCH)
    routes = [r for r in request.app.state.hma_routes if isinstance(r, APIRoute) and r.include_in_schema]
    return get_openapi(
        title=HMA_TITLE,
        version="2.0-compatible",
        description="Vigil's HMA 2.0 (OpenMediaMatch) compatible API. Vigil's own API: /openapi.json.",
        routes=routes,
    )
