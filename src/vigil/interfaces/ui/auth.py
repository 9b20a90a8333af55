"""Log in, log out, and the landing page for each role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from vigil.interfaces.api.deps import ServiceDep, client_of
from vigil.interfaces.ui.common import COOKIE, back, guard, home_of, page, posted, render, same_origin, tell
from vigil.review import sessions
from vigil.store import audit

router = APIRouter(include_in_schema=False)
LOGIN_ERRORS = {"unknown": "Unknown or revoked key.", "expired": "Your session ended; log in again."}


@router.get("/")
def root() -> Response:
    """The service root opens the web UI."""
    return back("/ui/home")


@router.get("/ui/login")
def login_form(request: Request) -> HTMLResponse:
    """The login page (an API key is the credential)."""
    return render(
        request, "login.html", None, {"flash": LOGIN_ERRORS.get(request.query_params.get("error", ""))}
    )


@router.post("/ui/login")
def login(request: Request, key: Annotated[str, Form()], service: ServiceDep) -> Response:
    """Log in with an API key: a new server-side session (login and failures are audited)."""
    if not same_origin(request):
        audit.log(
            service.store, sessions.ANONYMOUS, "ui.csrf_refused", "/ui/login", {"client": client_of(request)}
        )
        raise HTTPException(403, "Login refused: posted from another site.")
    opened = sessions.login(service.store, key, client_of(request))
    if opened is None:
        return back("/ui/login?error=unknown")
    session_id, who = opened
    response = back(home_of(who))
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
        max_age=int(sessions.ABSOLUTE.total_seconds()),
    )
    return response


@router.post("/ui/logout")
def logout(request: Request, service: ServiceDep, csrf: Annotated[str, Form()] = "") -> Response:
    """Log out: the session ends on the server, and the cookie is removed."""
    found = posted(request, service, csrf, None)
    if isinstance(found, Response):
        return found
    sessions.logout(service.store, request.cookies.get(COOKIE))
    response = back("/ui/login")
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("/ui/home")
def home(request: Request, service: ServiceDep) -> Response:
    """Each role lands on its first page; a role with none (submitters) gets a page saying so."""
    ctx = guard(request, service, None)
    if isinstance(ctx, Response):
        return ctx
    target = home_of(ctx.who)
    if target != "/ui/home":
        if ctx.session.flash:
            tell(request, service, ctx.session.flash)
        return back(target)
    return page(request, service, "home.html", ctx)
