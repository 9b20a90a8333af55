"""Wellness pages: each reviewer's preview settings, the admin's limits, breaks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vigil.core.actor import Permission
from vigil.core.errors import VigilError
from vigil.interfaces.api.deps import ServiceDep
from vigil.interfaces.ui.common import back, guard, page, posted, tell
from vigil.review import wellness

router = APIRouter(include_in_schema=False)


@router.get("/ui/settings")
def settings(request: Request, service: ServiceDep) -> Response:
    """One's own preview settings; for admins, the exposure limits too."""
    ctx = guard(request, service, Permission.PREVIEW)
    if isinstance(ctx, Response):
        return ctx
    return page(
        request,
        service,
        "settings.html",
        ctx,
        look=wellness.look(service.store, ctx.who),
        limits=wellness.limits(service.store),
        limits_form=ctx.who.can(Permission.KEYS),
        blur_range=wellness.BLUR_RANGE,
        size_range=wellness.SIZE_RANGE,
    )


@router.post("/ui/settings")
def save_look(
    request: Request,
    service: ServiceDep,
    blur: Annotated[int, Form()],
    preview_size: Annotated[int, Form()],
    greyscale: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Save one's preview settings (audited with before and after)."""
    ctx = posted(request, service, csrf, Permission.PREVIEW)
    if isinstance(ctx, Response):
        return ctx
    try:
        wellness.set_look(service.store, ctx.who, wellness.Look(blur, bool(greyscale), preview_size))
    except VigilError as exc:
        tell(request, service, str(exc))
    else:
        tell(request, service, "Preview settings saved.")
    return back("/ui/settings")


@router.post("/ui/settings/limits")
def save_limits(
    request: Request,
    service: ServiceDep,
    break_after: Annotated[int, Form()],
    break_minutes: Annotated[int, Form()],
    daily_cap: Annotated[int, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The admin's exposure limits for every reviewer (audited with before and after)."""
    ctx = posted(request, service, csrf, Permission.KEYS)
    if isinstance(ctx, Response):
        return ctx
    try:
        wellness.set_limits(service.store, ctx.who, wellness.Limits(break_after, break_minutes, daily_cap))
    except VigilError as exc:
        tell(request, service, str(exc))
    else:
        tell(request, service, "Limits saved.")
    return back("/ui/settings")


@router.post("/ui/break")
def take_break(request: Request, service: ServiceDep, csrf: Annotated[str, Form()] = "") -> Response:
    """Start a break (recorded): new items are held until it ends."""
    ctx = posted(request, service, csrf)
    if isinstance(ctx, Response):
        return ctx
    wellness.take_break(service.store, ctx.who)
    return back("/ui/next")


@router.post("/ui/break/skip")
def skip_break(
    request: Request,
    service: ServiceDep,
    since: Annotated[int, Form()] = 0,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Go on without the proposed break (recorded); the prompt returns after as many items again."""
    ctx = posted(request, service, csrf)
    if isinstance(ctx, Response):
        return ctx
    wellness.skip_break(service.store, ctx.who, since)
    return back("/ui/next")
