"""Mount the UI's routers and make every refusal under /ui a page, not a JSON body."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigil.core.errors import VigilError
from vigil.interfaces.ui import auth, desk, review, wellness
from vigil.interfaces.ui.common import error_page

ROUTERS: tuple[APIRouter, ...] = (auth.router, review.router, wellness.router, desk.router)


def is_ui(request: Request) -> bool:
    return request.url.path.startswith("/ui/") or request.url.path == "/ui"


async def as_page(request: Request, exc: Exception) -> Response | None:
    """The page for an error under /ui (None elsewhere: the API answers in JSON)."""
    if not is_ui(request):
        return None
    if isinstance(exc, StarletteHTTPException):
        status, message = exc.status_code, str(exc.detail)
    elif isinstance(exc, VigilError):
        status, message = exc.status, str(exc)
    elif isinstance(exc, RequestValidationError):
        fields = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
        status, message = 422, "The form was incomplete or malformed: " + ", ".join(fields) + "."
    else:
        return None
    return await run_in_threadpool(error_page, request, status, message)


def install(app: FastAPI) -> list[APIRouter]:
    """Add the UI to an app; returns its routers. HTTP and form errors under /ui become pages
    (the app's `VigilError` handler asks `as_page` first); elsewhere they stay JSON."""
    for router in ROUTERS:
        app.include_router(router)

    async def http_error(request: Request, exc: Exception) -> Response:
        shown = await as_page(request, exc)
        if shown is not None:
            return shown
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    async def form_error(request: Request, exc: Exception) -> Response:
        shown = await as_page(request, exc)
        if shown is not None:
            return shown
        assert isinstance(exc, RequestValidationError)
        return await request_validation_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, form_error)
    return list(ROUTERS)
