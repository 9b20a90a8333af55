"""The review UI under /ui: server-rendered pages over the same review domain as /v1/review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vigil.core.actor import Actor, Permission
from vigil.core.errors import VigilError
from vigil.interfaces.api.deps import COOKIE, ServiceDep, principal
from vigil.interfaces.api.pages import ENV
from vigil.lists import domain as lists
from vigil.review import categories
from vigil.review import domain as review
from vigil.review.keys import authenticate
from vigil.store import audit
from vigil.store.models import ReviewItem

router = APIRouter(include_in_schema=False)


def page(name: str, who: Actor | None, **context: object) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(name).render(who=who, **context))


def guard(request: Request, permission: Permission = Permission.REVIEW) -> Actor | Response:
    who = principal(request)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    if not who.can(permission):
        raise HTTPException(403, f"role {who.role} cannot {permission.value}")
    return who


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
    return page("login", None, flash=request.query_params.get("flash"))


@router.post("/ui/login")
def login(key: Annotated[str, Form()], service: ServiceDep) -> Response:
    """Log in with an API key; the login is audited."""
    who = authenticate(service.store, key)
    if who is None:
        return RedirectResponse("/ui/login?flash=Unknown+key", status_code=303)
    audit.log(service.store, who, "ui.login")
    response = RedirectResponse("/ui/queue", status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict")
    return response


@router.post("/ui/logout")
def logout() -> Response:
    """Log out: the session cookie is removed."""
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/ui/queue")
def ui_queue(request: Request, service: ServiceDep) -> Response:
    """The reviewer's queue, highest priority first (the view is audited)."""
    who = guard(request)
    if isinstance(who, Response):
        return who
    items = review.queue(service.store, who)
    audit.log(service.store, who, "review.queue_view", None, {"items": len(items)})
    return page("queue", who, items=items, why=why, flash=request.query_params.get("flash"))


@router.get("/ui/items/{item_id}")
def ui_item(item_id: int, request: Request, service: ServiceDep) -> Response:
    """One item: why it is here, its blurred preview, and the vote form when the reviewer may vote."""
    who = guard(request)
    if isinstance(who, Response):
        return who
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
        reasons=reasons,
        can_vote=view.can_vote,
        why_not=view.why_not,
        clear=view.unblurred,
        choices=categories.choices(),
        flash=request.query_params.get("flash"),
    )


@router.get("/ui/items/{item_id}/preview")
def ui_preview(item_id: int, request: Request, service: ServiceDep, clear: int = 0) -> Response:
    """The item's preview image: small, greyscale, blurred unless unblurred by this reviewer."""
    who = guard(request, Permission.PREVIEW)
    if isinstance(who, Response):
        return who
    image = review.preview(service.store, who, service.vault, item_id, bool(clear))
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/ui/items/{item_id}/unblur")
def ui_unblur(item_id: int, request: Request, service: ServiceDep) -> Response:
    """Unblur this item for this reviewer (audited; lasts until they vote or 15 minutes)."""
    who = guard(request, Permission.PREVIEW)
    if isinstance(who, Response):
        return who
    review.unblur(service.store, who, item_id)
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
) -> Response:
    """Record the reviewer's vote from the form and go back to the queue with the outcome."""
    who = guard(request)
    if isinstance(who, Response):
        return who
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
        )
    except VigilError as exc:
        return RedirectResponse(f"/ui/items/{item_id}?flash={exc}", status_code=303)
    return RedirectResponse(f"/ui/queue?flash=Item+{item_id}:+{result.status.value}", status_code=303)
