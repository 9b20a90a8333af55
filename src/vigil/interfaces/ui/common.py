"""What every UI page shares: the session guard, CSRF checks, messages and rendering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from vigil.core.actor import Actor, Permission
from vigil.core.clock import utcnow
from vigil.interfaces.api.deps import ServiceDep, client_of
from vigil.review import assign, sessions, wellness
from vigil.store import audit

COOKIE = "vigil_session"
ENV = Environment(
    loader=PackageLoader("vigil.interfaces.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


@dataclass(frozen=True)
class Nav:
    """A page in the header, shown to roles with its permission."""

    path: str
    label: str
    permissions: tuple[Permission, ...]

    def open_to(self, who: Actor) -> bool:
        return any(who.can(p) for p in self.permissions)


NAV = (
    Nav("/ui/queue", "Queue", (Permission.REVIEW,)),
    Nav("/ui/grid", "Grid", (Permission.REVIEW,)),
    Nav("/ui/reports", "Reports", (Permission.REPORT,)),
    Nav("/ui/audit", "Audit", (Permission.AUDIT,)),
    Nav("/ui/evidence", "Evidence", (Permission.EVIDENCE, Permission.AUDIT)),
    Nav("/ui/lists", "Lists", (Permission.LISTS,)),
    Nav("/ui/settings", "Settings", (Permission.PREVIEW,)),
)


def home_of(who: Actor) -> str:
    """Where a login lands: the first page this role may open."""
    for nav in NAV:
        if nav.open_to(who):
            return nav.path
    return "/ui/home"


@dataclass(frozen=True)
class Ctx:
    """The signed-in reviewer on this request."""

    who: Actor
    session: sessions.Session

    @property
    def started(self) -> datetime:
        return self.session.started or utcnow()


def render(
    request: Request,
    name: str,
    who: Actor | None,
    context: dict[str, object],
    *,
    csrf: str = "",
    status: int = 200,
) -> HTMLResponse:
    """A template inside the shared layout: the header shows the pages this person may open."""
    shown: dict[str, object] = {"flash": None, "exposure": None, "undoable": None, **context}
    html = ENV.get_template(name).render(
        who=who,
        csrf=csrf,
        nav=[n for n in NAV if who is not None and n.open_to(who)],
        path=request.url.path,
        **shown,
    )
    return HTMLResponse(html, status_code=status)


def page(
    request: Request,
    service: ServiceDep,
    name: str,
    ctx: Ctx,
    exposure: wellness.Exposure | None = None,
    **context: object,
) -> HTMLResponse:
    """A page for the signed-in person; a reviewer's header counts their exposure (`exposure`:
    already computed by the caller) and offers to undo their last vote while it can be undone."""
    undoable = None
    if ctx.who.can(Permission.REVIEW):
        exposure = exposure or wellness.exposure(service.store, ctx.who, ctx.started)
        undoable = assign.undoable(service.store, ctx.who)
    header = {"flash": ctx.session.flash, "exposure": exposure, "undoable": undoable}
    return render(request, name, ctx.who, {**header, **context}, csrf=ctx.session.csrf)


def same_origin(request: Request) -> bool:
    """The form was posted from a page of this service (Origin, else Referer, must match the host)."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


def guard(
    request: Request,
    service: ServiceDep,
    permission: Permission | None = Permission.REVIEW,
    *also: Permission,
) -> Ctx | Response:
    """The live session of this request, refused (audited) for a role with none of the permissions
    (None: any signed-in role)."""
    found = sessions.resolve(service.store, request.cookies.get(COOKIE))
    if found is None:
        return RedirectResponse(
            "/ui/login?error=expired" if request.cookies.get(COOKIE) else "/ui/login", 303
        )
    wanted = [p for p in (permission, *also) if p is not None]
    if wanted and not any(found.actor.can(p) for p in wanted):
        names = " or ".join(p.value for p in wanted)
        audit.log(service.store, found.actor, "access.denied", request.url.path, {"permission": names})
        raise HTTPException(403, f"Your role ({found.actor.role}) cannot {names}: this page is not for it.")
    return Ctx(found.actor, found)


def posted(
    request: Request, service: ServiceDep, csrf: str, permission: Permission | None = Permission.REVIEW
) -> Ctx | Response:
    """`guard` for a state-changing form: also the CSRF token and the origin."""
    found = guard(request, service, permission)
    if isinstance(found, Response):
        return found
    if not sessions.csrf_ok(found.session, csrf) or not same_origin(request):
        audit.log(
            service.store, found.who, "ui.csrf_refused", request.url.path, {"client": client_of(request)}
        )
        raise HTTPException(403, "Form refused: missing or wrong CSRF token, or posted from another site.")
    return found


def tell(request: Request, service: ServiceDep, message: str) -> None:
    """A message for the next page this person sees (kept in the session, not in the URL)."""
    session_id = request.cookies.get(COOKIE)
    if session_id:
        sessions.flash(service.store, session_id, message)


def back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A refusal as a page with a way back, never a raw JSON body."""
    found = sessions.resolve(request.app.state.service.store, request.cookies.get(COOKIE), take_flash=False)
    who = found.actor if found else None
    shown: dict[str, object] = {
        "status": status,
        "message": message,
        "home": home_of(who) if who else "/ui/login",
    }
    return render(request, "error.html", who, shown, csrf=found.csrf if found else "", status=status)
