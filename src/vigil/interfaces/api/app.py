"""The FastAPI application: the native JSON API under /v1, the review UI under /ui, HMA's API beside.

Routers are thin: each reads the request, calls one domain function with the caller's `Actor`, and
shapes the answer. A `VigilError` raised anywhere below becomes its status code with a message.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from vigil.actions.reports.domain import ReportSettings
from vigil.core import defaults
from vigil.core.errors import VigilError
from vigil.interfaces import hma
from vigil.interfaces.api.routers import audit, lists, match, reports, review, scans, ui
from vigil.interfaces.api.service import Service, ServiceConfig
from vigil.review.evidence import Vault
from vigil.store.db import Store

__all__ = ["ServiceConfig", "create_app", "from_env"]
HMA_PREFIXES = ("/h/", "/m/", "/c/")


def create_app(store: Store, vault: Vault, config: ServiceConfig | None = None) -> FastAPI:
    service = Service(store, vault, config or ServiceConfig())
    app = FastAPI(
        title="Vigil",
        version="0.1.0",
        description="Known-material matching, human review, evidence preservation and clearinghouse reports. "
        "Authenticate with `X-API-Key`.",
    )
    app.state.service = service
    for router in (
        match.router,
        lists.router,
        scans.router,
        review.router,
        reports.router,
        audit.router,
        ui.router,
    ):
        app.include_router(router)
    hma.install(app, service)

    @app.exception_handler(VigilError)
    async def vigil_error(request: Request, exc: VigilError) -> JSONResponse:
        """Domain refusals keep their meaning over HTTP (404, 409, 422...); HMA paths use HMA's shape."""
        if request.url.path.startswith(HMA_PREFIXES):
            return JSONResponse({"message": str(exc)}, status_code=exc.status)
        body: dict[str, object] = {"detail": str(exc)}
        errors = getattr(exc, "errors", None)  # per-field problems (contexts, schema validation)
        if errors:
            body["errors"] = [{"field": field, "message": message} for field, message in errors]
        return JSONResponse(body, status_code=exc.status)

    return app


def from_env() -> FastAPI:
    """App factory for multi-worker servers (`uvicorn --factory`), configured by environment."""
    env = os.environ.get
    config = ServiceConfig(
        required_votes=int(env("VIGIL_VOTES", str(defaults.REQUIRED_VOTES))),
        reports=ReportSettings.from_env(),
        index_dir=Path(env("VIGIL_INDEX_DIR", "")) if env("VIGIL_INDEX_DIR") else None,
        hma_anonymous_role=env("VIGIL_HMA_ANONYMOUS_ROLE") or None,
        hma_allowed_hosts=tuple(h for h in env("VIGIL_HMA_ALLOWED_HOSTS", "").split(",") if h),
    )
    evidence = Path(env("VIGIL_EVIDENCE_DIR", "vigil-evidence"))
    key_file = Path(env("VIGIL_EVIDENCE_KEY_FILE", "")) if env("VIGIL_EVIDENCE_KEY_FILE") else None
    return create_app(Store(), Vault.open(evidence, key_file), config)
