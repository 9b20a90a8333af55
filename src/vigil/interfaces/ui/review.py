"""Review pages: the queue, the next item, one item with its context panel, grid triage, undo."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from vigil.core.actor import Permission
from vigil.core.errors import VigilError
from vigil.core.states import ReviewStatus
from vigil.interfaces.api.deps import ServiceDep
from vigil.interfaces.ui.common import Ctx, back, guard, page, posted, tell
from vigil.review import assign, categories, links, panel, wellness
from vigil.review import domain as review
from vigil.store import audit
from vigil.store.models import ReviewItem

router = APIRouter(include_in_schema=False)
KEYS_JS = files("vigil.interfaces.ui").joinpath("static/keys.js").read_bytes()


def why(item: ReviewItem) -> str:
    matches = (item.reason or {}).get("matches", [])
    kinds = sorted({m[0] for m in matches})
    if kinds:
        return ", ".join(kinds) + " match"
    return "classifier score" if (item.reason or {}).get("scores") else "submitted"


def confirm_choices() -> list[tuple[str, str, str]]:
    """Only categories that can confirm are offered for a confirmation (keys 1..n)."""
    return [c for c in categories.choices() if categories.can_confirm(c[0], c[1])]


@router.get("/ui/static/keys.js")
def keys_js() -> Response:
    """The keyboard shortcuts (the pages work without them)."""
    return Response(KEYS_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/ui/queue")
def ui_queue(request: Request, service: ServiceDep) -> Response:
    """What is assigned to this reviewer, and the way to the next item (the view is audited)."""
    ctx = guard(request, service)
    if isinstance(ctx, Response):
        return ctx
    held = assign.held(service.store, ctx.who)
    waiting = review.waiting(service.store, ctx.who)
    audit.log(service.store, ctx.who, "review.queue_view", None, {"items": len(held)})
    leases = assign.lease_ends(service.store, ctx.who, [i.id for i in held])
    return page(
        request,
        service,
        "queue.html",
        ctx,
        items=[(i, leases.get(i.id)) for i in held],
        waiting=sum(waiting.values()),
        escalated=waiting.get(ReviewStatus.ESCALATED, 0) if ctx.who.can(Permission.ESCALATION) else None,
        lease_minutes=int(assign.LEASE_FOR.total_seconds() // 60),
        why=why,
    )


def _pause(request: Request, service: ServiceDep, ctx: Ctx) -> Response | None:
    """The break or cap page when one is due, else None."""
    exposure = wellness.exposure(service.store, ctx.who, ctx.started)
    state = (
        "capped"
        if exposure.capped
        else "on_break"
        if exposure.on_break_until
        else "break_due"
        if exposure.break_due
        else None
    )
    if state is None:
        return None
    audit.log(service.store, ctx.who, "wellness.paused", None, {"state": state, "today": exposure.today})
    return page(request, service, "pause.html", ctx, exposure, state=state)


def _held_or_pause(request: Request, service: ServiceDep, ctx: Ctx) -> list[ReviewItem] | Response:
    """The items this reviewer holds; with none, the break or cap page when one is due."""
    held = assign.held(service.store, ctx.who)
    if not held:
        paused = _pause(request, service, ctx)
        if paused is not None:
            return paused
    return held


@router.get("/ui/next")
def ui_next(request: Request, service: ServiceDep) -> Response:
    """Hand this reviewer their next item (after a break prompt or the daily cap, when due)."""
    ctx = guard(request, service)
    if isinstance(ctx, Response):
        return ctx
    held = _held_or_pause(request, service, ctx)
    if isinstance(held, Response):
        return held
    item_id = held[0].id if held else assign.next_item(service.store, ctx.who)
    if item_id is None:
        tell(
            request,
            service,
            (ctx.session.flash + " - " if ctx.session.flash else "") + "Nothing is waiting for you.",
        )
        return back("/ui/queue")
    if ctx.session.flash:
        tell(request, service, ctx.session.flash)
    return back(f"/ui/items/{item_id}")


@router.get("/ui/items/{item_id}")
def ui_item(item_id: int, request: Request, service: ServiceDep) -> Response:
    """One item: blurred preview, the decision form (keys on screen), and its context panel."""
    ctx = guard(request, service)
    if isinstance(ctx, Response):
        return ctx
    view = review.view_item(service.store, ctx.who, item_id)
    item = view.item
    link = links.link_of(service.store, item_id) if item.linked_to else None
    return page(
        request,
        service,
        "item.html",
        ctx,
        item=item,
        votes=view.votes,
        ballots=view.ballots,
        can_vote=view.can_vote,
        why_not=view.why_not,
        clear=view.unblurred,
        peeked=review.peeked(service.store, ctx.who, item_id) is not None,
        lease_until=view.lease_until,
        confirm_choices=confirm_choices(),
        panel=panel.build(service.store, service.vault, item),
        link=link,
        look=wellness.look(service.store, ctx.who),
        version=int(datetime.now().timestamp()),
    )


@router.get("/ui/items/{item_id}/preview")
def ui_preview(
    item_id: int, request: Request, service: ServiceDep, clear: int = 0, peek: int = 0, thumb: int = 0
) -> Response:
    """The item's preview with this reviewer's settings: blurred unless unblurred by them."""
    ctx = guard(request, service, Permission.PREVIEW)
    if isinstance(ctx, Response):
        return ctx
    look = wellness.look(service.store, ctx.who)
    if thumb:
        look = wellness.Look(look.blur, look.greyscale, max(wellness.SIZE_RANGE[0], look.preview_size // 2))
    image = review.preview(service.store, ctx.who, service.vault, item_id, bool(clear), look, bool(peek))
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/ui/items/{item_id}/unblur")
def ui_unblur(
    item_id: int, request: Request, service: ServiceDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Unblur this item for this reviewer (audited; lasts until they vote or 15 minutes)."""
    ctx = posted(request, service, csrf, Permission.PREVIEW)
    if isinstance(ctx, Response):
        return ctx
    review.unblur(service.store, ctx.who, item_id)
    return back(f"/ui/items/{item_id}")


@router.post("/ui/items/{item_id}/peek")
def ui_peek(
    item_id: int,
    request: Request,
    service: ServiceDep,
    x: Annotated[int, Form(alias="at.x")] = 0,
    y: Annotated[int, Form(alias="at.y")] = 0,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Show the spot the reviewer clicked on the blurred preview clear (audited, like an unblur)."""
    ctx = posted(request, service, csrf, Permission.PREVIEW)
    if isinstance(ctx, Response):
        return ctx
    side = wellness.look(service.store, ctx.who).preview_size
    width, height = panel.shown_size(service.store, service.vault, item_id, side)
    review.peek(service.store, ctx.who, item_id, min(1.0, max(0, x) / width), min(1.0, max(0, y) / height))
    return back(f"/ui/items/{item_id}")


@router.post("/ui/items/{item_id}/vote")
def ui_vote(
    item_id: int,
    request: Request,
    service: ServiceDep,
    choice: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    publicly_available: Annotated[str, Form()] = "",
    potential_meme: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Record the reviewer's vote and go on to their next item (auto-advance)."""
    ctx = posted(request, service, csrf)
    if isinstance(ctx, Response):
        return ctx
    if choice:
        decision, _, category = choice.partition(":")
    flags: dict[str, bool | None] = {
        "publicly_available": bool(publicly_available) or None,
        "potential_meme": bool(potential_meme) or None,
    }
    try:
        result = _vote(service, ctx, item_id, decision, category, note, flags)
    except assign.Taken as exc:  # the item went to someone else: nothing of it to show here
        tell(request, service, f"Your vote was not recorded: {exc}.")
        return back("/ui/queue")
    except VigilError as exc:
        tell(request, service, str(exc))
        return back(f"/ui/items/{item_id}")
    tell(request, service, f"Item {item_id}: {result.status.value}.")
    return back("/ui/next")


def _vote(
    service: ServiceDep,
    ctx: Ctx,
    item_id: int,
    decision: str,
    category: str,
    note: str,
    flags: dict[str, bool | None],
) -> review.VoteResult:
    scheme, _, code = category.partition(":")
    return review.vote(
        service.store,
        ctx.who,
        item_id,
        decision,
        scheme or None,
        code or None,
        note or None,
        service.on_confirmed,
        flags,
        service.on_rejected,
    )


@router.post("/ui/items/{item_id}/undo")
def ui_undo(
    item_id: int, request: Request, service: ServiceDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Take back one's last vote within the undo window and see the item again."""
    ctx = posted(request, service, csrf)
    if isinstance(ctx, Response):
        return ctx
    try:
        status = assign.undo(service.store, ctx.who, item_id)
    except VigilError as exc:
        tell(request, service, str(exc))
        return back("/ui/queue")
    tell(request, service, f"Your vote on item {item_id} was undone; the item is {status.value}.")
    return back(f"/ui/items/{item_id}")


@router.post("/ui/items/{item_id}/requeue")
def ui_requeue(
    item_id: int,
    request: Request,
    service: ServiceDep,
    reason: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Ask for a linked item to be reviewed on its own (audited with the reason)."""
    ctx = posted(request, service, csrf)
    if isinstance(ctx, Response):
        return ctx
    links.requeue(service.store, ctx.who, item_id, reason)
    tell(request, service, f"Item {item_id} is in the queue for its own review.")
    return back("/ui/queue")


@router.get("/ui/grid")
def ui_grid(request: Request, service: ServiceDep) -> Response:
    """Blurred thumbnails of items assigned to this reviewer (a batch is leased on opening)."""
    ctx = guard(request, service)
    if isinstance(ctx, Response):
        return ctx
    held = _held_or_pause(request, service, ctx)
    if isinstance(held, Response):
        return held
    seen = wellness.exposure(service.store, ctx.who, ctx.started)
    room = min(GRID_BATCH - len(held), seen.limits.daily_cap - seen.today - len(held))
    if room > 0:  # top the batch up, within what is left of the day's cap
        assign.take(service.store, ctx.who, room)
        held = assign.held(service.store, ctx.who)
    for item in held:
        review.view_item(service.store, ctx.who, item.id)  # each tile is an exposure, audited
    return page(
        request,
        service,
        "grid.html",
        ctx,
        items=held,
        confirm_choices=confirm_choices(),
        look=wellness.look(service.store, ctx.who),
        why=why,
    )


@router.post("/ui/grid")
async def ui_grid_decide(request: Request, service: ServiceDep) -> Response:
    """One decision for every ticked item: one vote per item, each in its own transaction, so a
    refusal on one (taken back by its lease, decided meanwhile) leaves the others recorded."""
    form = await request.form()
    ctx = await run_in_threadpool(posted, request, service, str(form.get("csrf", "")))
    if isinstance(ctx, Response):
        return ctx
    choice = str(form.get("choice", ""))
    decision, _, category = choice.partition(":")
    picked = [int(str(v)) for v in form.getlist("item") if str(v).isdigit()]
    if not picked:
        await run_in_threadpool(tell, request, service, "Tick at least one item.")
        return back("/ui/grid")
    outcome = await run_in_threadpool(_grid_votes, service, ctx, picked, decision, category)
    await run_in_threadpool(tell, request, service, outcome)
    return back("/ui/grid")


def _grid_votes(service: ServiceDep, ctx: Ctx, picked: list[int], decision: str, category: str) -> str:
    done, refused = [], []
    for item_id in picked:
        try:
            result = _vote(service, ctx, item_id, decision, category, "", {})
        except VigilError as exc:
            refused.append(f"#{item_id}: {exc}")
        else:
            done.append(f"#{item_id} {result.status.value}")
    return (
        "Recorded "
        + (", ".join(done) or "nothing")
        + ("; refused " + "; ".join(refused) if refused else "")
        + "."
    )


GRID_BATCH = 12
