"""The FastAPI application: the native JSON API under /v1, the review UI under /ui, HMA's API beside.

Routers are thin: each reads the request, calls one domain function with the caller's `Actor`, and
shapes the answer. A `VigilError` raised anywhere below becomes its status code with a message.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from vigil.actions.reports.domain import ReportSettings
from vigil.core import defaults
from vigil.core.actor import Actor, Permission
from vigil.core.errors import InvalidInput, VigilError
from vigil.interfaces import hma, ui
from vigil.interfaces.api.deps import need
from vigil.interfaces.api.guards import Guards
from vigil.interfaces.api.routers import audit, evidence, jobs, lists, match, reports, review, scans
from vigil.interfaces.api.service import Service, ServiceConfig
from vigil.review.evidence import Vault
from vigil.store import audit as audit_log
from vigil.store.db import DataError, Store, StoreError

__all__ = ["ServiceConfig", "create_app", "from_env"]
HMA_PREFIXES = ("/h/", "/m/", "/c/")
LOG = logging.getLogger("vigil.service")


def create_app(store: Store, vault: Vault, config: ServiceConfig | None = None) -> FastAPI:
    service = Service(store, vault, config or ServiceConfig())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        """Checkpoint the audit chain every minute and keep the index current while the service
        runs; stop the hashing pool."""
        tasks = [asyncio.create_task(_checkpoints(service))]
        if service.config.index_watch:
            tasks.append(asyncio.create_task(_index_watch(service)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            service.media.close()

    public = service.config.public_docs
    app = FastAPI(
        title="Vigil",
        version="0.1.0",
        description="Known-material matching, human review, evidence preservation and clearinghouse reports. "
        "Authenticate with `X-API-Key`.",
        lifespan=lifespan,
        docs_url="/docs" if public else None,
        redoc_url=None,
        openapi_url="/openapi.json" if public else None,
    )
    app.state.service = service
    app.add_middleware(Guards, limits=service.config.limits)
    if not public:

        @app.get("/openapi.json", include_in_schema=False)
        def openapi(who: Annotated[Actor, need(Permission.MATCH)]) -> JSONResponse:
            """The OpenAPI document, for key holders (`public_docs` serves it and /docs to anyone)."""
            return JSONResponse(app.openapi())

    routers = [
        match.router,
        lists.router,
        scans.router,
        jobs.router,
        review.router,
        reports.router,
        audit.router,
        evidence.router,
    ]
    for router in routers:
        app.include_router(router)
    routers += ui.install(app)
    routers += hma.install(app, service)
    app.state.site_map = sorted(
        {
            "/openapi.json",
            *(route.path for router in routers for route in router.routes if hasattr(route, "path")),
        }
    )  # what HMA's /site-map lists: every path served, each once

    @app.exception_handler(VigilError)
    async def vigil_error(request: Request, exc: VigilError) -> Response:
        """Domain refusals keep their meaning over HTTP (404, 409, 422...); HMA paths use HMA's shape."""
        if request.url.path.startswith(HMA_PREFIXES):
            return JSONResponse({"message": str(exc)}, status_code=exc.status)
        shown = await ui.as_page(request, exc)
        if shown is not None:
            return shown
        body: dict[str, object] = {"detail": str(exc)}  # (errors below: per-field problems)
        errors = getattr(exc, "errors", None)  # per-field problems (contexts, schema validation)
        if errors:
            body["errors"] = [{"field": field, "message": message} for field, message in errors]
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        """An id beyond the database's integer range names nothing (SQLite raises OverflowError)."""
        return JSONResponse({"detail": "id out of range"}, status_code=404)

    @app.exception_handler(DataError)
    async def bad_value(request: Request, exc: DataError) -> JSONResponse:
        """PostgreSQL's refusal of a value (an id beyond bigint) is the caller's error, not a 500."""
        return JSONResponse({"detail": "a value is out of range for its field"}, status_code=404)

    return app


async def _checkpoints(service: Service, every: float = 60.0) -> None:
    """Anchor the audit chain head outside the database whenever it has grown (vigil.store.anchor)."""
    last: int | None = None
    while True:
        await asyncio.sleep(every)
        try:
            point = await run_in_threadpool(audit_log.checkpoint, service.store, last)
        except (OSError, StoreError) as exc:  # a full disk must not stop the service; verify will say
            LOG.warning("audit checkpoint failed: %s", exc)
            continue
        last = point.seq if point else last


async def _index_watch(service: Service) -> None:
    """Look at the store's list generation every `index_check_every` seconds and rebuild off the event
    loop when it moved (an exchange fetch or import by another process), so the first lookup after a
    change does not pay for the build and /status can tell a refresher that stopped."""
    while True:
        await asyncio.sleep(max(service.config.index_check_every, 0.1))  # 0 means "before every match"
        try:
            await run_in_threadpool(service.matchers.refresh)
        except (OSError, StoreError) as exc:  # the database away for a moment: /status shows it
            LOG.warning("index refresh failed: %s", exc)


def _number(name: str, default: float, kind: type[int] | type[float] = int) -> Any:
    """A numeric setting from the environment; a value that is no number stops the start with the
    variable's name (HMA answers every request 500 "Service misconfigured" instead)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return kind(default)
    try:
        return kind(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number, not {raw!r}") from None


def from_env() -> FastAPI:
    """App factory for multi-worker servers (`uvicorn --factory`), configured by environment."""
    env = os.environ.get
    # HMA's own defaults: no API keys (trust the network), URL hashing from any public host
    hma_compatible = env("VIGIL_HMA_COMPATIBLE") == "1"
    config = ServiceConfig(
        required_votes=int(env("VIGIL_VOTES", str(defaults.REQUIRED_VOTES))),
        reports=ReportSettings.from_env(),
        index_dir=Path(env("VIGIL_INDEX_DIR", "")) if env("VIGIL_INDEX_DIR") else None,
        hma_anonymous_role=env("VIGIL_HMA_ANONYMOUS_ROLE") or ("admin" if hma_compatible else None),
        hma_allowed_hosts=tuple(h for h in env("VIGIL_HMA_ALLOWED_HOSTS", "").split(",") if h)
        or (("*",) if hma_compatible else ()),
        hma_max_remote_file_size=_number("VIGIL_HMA_MAX_REMOTE_FILE_SIZE", 100 * 1024 * 1024),
        hma_index_stale_after=_number("VIGIL_HMA_INDEX_STALE_AFTER", 0.0, float),
        scan_roots=[Path(p) for p in env("VIGIL_SCAN_ROOTS", "").split(os.pathsep) if p],
        media_workers=int(env("VIGIL_MEDIA_WORKERS", "2")),
        rate_per_second=float(env("VIGIL_RATE", "100")),
        public_docs=env("VIGIL_PUBLIC_DOCS") == "1",
        spool_dir=Path(env("VIGIL_SPOOL_DIR", "vigil-spool")),
    )
    evidence = Path(env("VIGIL_EVIDENCE_DIR", "vigil-evidence"))
    key_file = Path(env("VIGIL_EVIDENCE_KEY_FILE", "")) if env("VIGIL_EVIDENCE_KEY_FILE") else None
    return create_app(Store(), Vault.open(evidence, key_file), config)
