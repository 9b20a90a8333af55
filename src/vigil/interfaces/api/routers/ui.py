"""The review UI under /ui: server-rendered pages over the same review domain as /v1/review.

Logins become server-side sessions (vigil.review.sessions): the cookie holds a random id, HttpOnly,
SameSite=Strict, Secure behind TLS, scoped to /ui. Every state-changing form carries the session's
CSRF token and must come from this origin (Origin, else Referer); a refusal is audited. Messages
for the next page are kept in the session, never reflected from the URL.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vigil.core.actor import Actor, Permission
from vigil.core.errors import VigilError
from vigil.interfaces.api.deps import ServiceDep, client_of
from vigil.interfaces.api.pages import ENV
from vigil.lists import domain as lists
from vigil.review import categories, sessions
from vigil.review import domain as review
from vigil.store import audit
from vigil.store.models import ReviewItem

router = APIRouter(include_in_schema=False)
COOKIE = "vigil_session"
LOGIN_ERRORS = {"unknown": "Unknown or revoked key.", "expired": "Your session ended; log in again."}


def page(name: str, who: Actor | None, **context: object) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(name).render(who=who, **context))


def same_origin(request: Request) -> bool:
    """The form was posted from a page of this service (Origin, else Referer, must match the host)."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def guard(
    request: Request, service: ServiceDep, permission: Permission = Permission.REVIEW
) -> tuple[Actor, sessions.Session] | Response:
    found = sessions.resolve(service.store, request.cookies.get(COOKIE))
    if found is None:
        return RedirectResponse(
            "/ui/login?error=expired" if request.cookies.get(COOKIE) else "/ui/login", 303
        )
    if not found.actor.can(permission):
        audit.log(
            service.store, found.actor, "access.denied", request.url.path, {"permission": permission.value}
        )
        raise HTTPException(403, f"role {found.actor.role} cannot {permission.value}")
    return found.actor, found


def posted(
    request: Request, service: ServiceDep, csrf: str, permission: Permission = Permission.REVIEW
) -> tuple[Actor, sessions.Session] | Response:
    """`guard` for a state-changing form: also the CSRF token and the origin."""
    found = guard(request, service, permission)
    if isinstance(found, Response):
        return found
    who, session = found
    if not sessions.csrf_ok(session, csrf) or not same_origin(request):
        audit.log(service.store, who, "ui.csrf_refused", request.url.path, {"client": client_of(request)})
        raise HTTPException(403, "form refused: missing or wrong CSRF token, or posted from another site")
    return found


def tell(request: Request, service: ServiceDep, message: str) -> None:
    """A message for the next page this reviewer sees (kept in the session, not in the URL)."""
    session_id = request.cookies.get(COOKIE)
    if session_id:
        sessions.flash(service.store, session_id, message)


def why(item: ReviewItem) -> str:
    matches = (item.reason or {}).get("matches", [])
    kinds = sorted({m[0] for m in matches})
    if kinds:
        return ", ".join(kinds) + " match"
    return "classifier score" if (item.reason or {}).get("scores") else "submitted"


@router.get("/")
def root() -> RedirectResponse:
    """The service root opens the review queue."""
    return RedirectResponse("/ui/queue")


@router.get("/ui/login")
def login_form(request: Request) -> HTMLResponse:
    """The login page (an API key is the credential)."""
    return page("login", None, flash=LOGIN_ERRORS.get(request.query_params.get("error", "")))


@router.post("/ui/login")
def login(request: Request, key: Annotated[str, Form()], service: ServiceDep) -> Response:
    """Log in with an API key: a new server-side session (login and failures are audited)."""
    if not same_origin(request):
        audit.log(
            service.store, sessions.ANONYMOUS, "ui.csrf_refused", "/ui/login", {"client": client_of(request)}
        )
        raise HTTPException(403, "login refused: posted from another site")
    opened = sessions.login(service.store, key, client_of(request))
    if opened is None:
        return RedirectResponse("/ui/login?error=unknown", status_code=303)
    session_id, _ = opened
    response = RedirectResponse("/ui/queue", status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/ui",
        max_age=int(sessions.ABSOLUTE.total_seconds()),
    )
    return response


@router.post("/ui/logout")
def logout(request: Request, service: ServiceDep, csrf: Annotated[str, Form()] = "") -> Response:
    """Log out: the session ends on the server, and the cookie is removed."""
    found = posted(request, service, csrf, Permission.MATCH)
    if isinstance(found, Response):
        return found
    sessions.logout(service.store, request.cookies.get(COOKIE))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("/ui/queue")
def ui_queue(request: Request, service: ServiceDep) -> Response:
    """The reviewer's queue, highest priority first (the view is audited)."""
    found = guard(request, service)
    if isinstance(found, Response):
        return found
    who, session = found
    items = review.queue(service.store, who)
    audit.log(service.store, who, "review.queue_view", None, {"items": len(items)})
    return page("queue", who, items=items, why=why, flash=session.flash, csrf=session.csrf)


@router.get("/ui/items/{item_id}")
def ui_item(item_id: int, request: Request, service: ServiceDep) -> Response:
    """One item: why it is here, its blurred preview, and the vote form when the reviewer may vote."""
    found = guard(request, service)
    if isinstance(found, Response):
        return found
    who, session = found
    view = review.view_item(service.store, who, item_id)
    item = view.item
    matches = (item.reason or {}).get("matches", [])
    names = lists.provenance(service.store, [m[2] for m in matches if m[2] is not None])
    reasons = [
        f"{kind} match at distance {distance} - lists: "
        + ", ".join(f"{p.list_name} (category {p.category})" for p in names.get(entry, []))
        for kind, distance, entry in matches
    ] + [
        f"classifier {model} (version {version}): {name} {score:.2f} - a hint for ordering, not a finding"
        for model, version, name, score in (item.reason or {}).get("scores", [])
    ] or ["submitted for review"]
    return page(
        "item",
        who,
        item=item,
        votes=view.votes,
        ballots=view.ballots,
        reasons=reasons,
        can_vote=view.can_vote,
        why_not=view.why_not,
        clear=view.unblurred,
        choices=categories.choices(),
        flash=session.flash,
        csrf=session.csrf,
    )


@router.get("/ui/items/{item_id}/preview")
def ui_preview(item_id: int, request: Request, service: ServiceDep, clear: int = 0) -> Response:
    """The item's preview image: small, greyscale, blurred unless unblurred by this reviewer."""
    found = guard(request, service, Permission.PREVIEW)
    if isinstance(found, Response):
        return found
    image = review.preview(service.store, found[0], service.vault, item_id, bool(clear))
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/ui/items/{item_id}/unblur")
def ui_unblur(
    item_id: int, request: Request, service: ServiceDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Unblur this item for this reviewer (audited; lasts until they vote or 15 minutes)."""
    found = posted(request, service, csrf, Permission.PREVIEW)
    if isinstance(found, Response):
        return found
    review.unblur(service.store, found[0], item_id)
    return RedirectResponse(f"/ui/items/{item_id}", status_code=303)


@router.post("/ui/items/{item_id}/vote")
def ui_vote(
    item_id: int,
    request: Request,
    service: ServiceDep,
    decision: Annotated[str, Form()],
    category: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    publicly_available: Annotated[str, Form()] = "",
    potential_meme: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Record the reviewer's vote from the form and go back to the queue with the outcome."""
    found = posted(request, service, csrf)
    if isinstance(found, Response):
        return found
    who = found[0]
    scheme, _, code = category.partition(":")
    try:
        result = review.vote(
            service.store,
            who,
            item_id,
            decision,
            scheme or None,
            code or None,
            note or None,
            service.on_confirmed,
            {
                "publicly_available": bool(publicly_available) or None,
                "potential_meme": bool(potential_meme) or None,
            },
            service.on_rejected,
        )
    except VigilError as exc:
        tell(request, service, str(exc))
        return RedirectResponse(f"/ui/items/{item_id}", status_code=303)
    tell(request, service, f"Item {item_id}: {result.status.value}")
    return RedirectResponse("/ui/queue", status_code=303)
