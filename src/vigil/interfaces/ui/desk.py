"""Pages for the other roles: evidence (admins; auditors may look), reports (senior reviewers and
admins), audit (auditors and admins), lists (admins). Other roles get a page saying so."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vigil.actions.reports import domain as reports
from vigil.core.actor import Permission
from vigil.core.errors import VigilError
from vigil.interfaces.api.deps import ServiceDep
from vigil.interfaces.ui.common import back, guard, page, posted, tell
from vigil.lists import domain as lists
from vigil.review import custody
from vigil.review import domain as review
from vigil.store import audit

router = APIRouter(include_in_schema=False)
P = Permission


@router.get("/ui/evidence")
def evidence_list(request: Request, service: ServiceDep) -> Response:
    """Every piece of evidence, its hold and whether its custody trail verifies."""
    ctx = guard(request, service, P.EVIDENCE, P.AUDIT)
    if isinstance(ctx, Response):
        return ctx
    return page(request, service, "evidence_list.html", ctx, rows=custody.listing(service.store, ctx.who))


@router.get("/ui/evidence/{evidence_id}")
def evidence_one(evidence_id: int, request: Request, service: ServiceDep) -> Response:
    """Metadata, the context frozen with it, and the custody trail with its verification."""
    ctx = guard(request, service, P.EVIDENCE, P.AUDIT)
    if isinstance(ctx, Response):
        return ctx
    found = custody.dossier(service.store, ctx.who, evidence_id)
    return page(request, service, "evidence.html", ctx, d=found, manage=ctx.who.can(P.EVIDENCE))


@router.post("/ui/evidence/{evidence_id}/{change}")
def evidence_hold(
    evidence_id: int,
    change: str,
    request: Request,
    service: ServiceDep,
    reason: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Release a legal hold, or place one again, with a reason (custody trail and audit log)."""
    ctx = posted(request, service, csrf, P.EVIDENCE)
    if isinstance(ctx, Response):
        return ctx
    act = {"release": custody.release, "hold": custody.hold}.get(change)
    if act is None:
        return back(f"/ui/evidence/{evidence_id}")
    try:
        act(service.store, service.vault, ctx.who, evidence_id, reason)
    except VigilError as exc:
        tell(request, service, str(exc))
    else:
        tell(
            request,
            service,
            f"Evidence {evidence_id}: hold {'released' if change == 'release' else 'placed'}.",
        )
    return back(f"/ui/evidence/{evidence_id}")


@router.get("/ui/reports")
def report_list(request: Request, service: ServiceDep) -> Response:
    """Reports with status, and confirmed items that have none yet."""
    ctx = guard(request, service, P.REPORT)
    if isinstance(ctx, Response):
        return ctx
    rows = reports.listing(service.store)
    reported = {i for row in rows for i in row["items"]}
    waiting = [i for i in review.confirmed_items(service.store) if i.id not in reported]
    return page(request, service, "reports.html", ctx, rows=rows, waiting=waiting)


@router.post("/ui/reports")
def report_draft(
    request: Request, service: ServiceDep, item_id: Annotated[int, Form()], csrf: Annotated[str, Form()] = ""
) -> Response:
    """Draft (or open the existing) report for a confirmed item."""
    ctx = posted(request, service, csrf, P.REPORT)
    if isinstance(ctx, Response):
        return ctx
    try:
        drafted = reports.draft(service.store, ctx.who, item_id, service.config.reports)
    except VigilError as exc:
        tell(request, service, f"Item {item_id}: {exc}")
        return back("/ui/reports")
    return back(f"/ui/reports/{drafted['report_id']}")


@router.get("/ui/reports/{report_id}")
def report_one(report_id: int, request: Request, service: ServiceDep) -> Response:
    """The report as it will be sent: completeness, each legal statement and why, the exact XML."""
    ctx = guard(request, service, P.REPORT)
    if isinstance(ctx, Response):
        return ctx
    shown = reports.show(service.store, report_id, service.config.reports)
    audit.log(service.store, ctx.who, "report.view", f"report:{report_id}")
    return page(
        request, service, "report.html", ctx, r=shown, can_send=bool(service.config.reports.clearinghouse_url)
    )


@router.post("/ui/reports/{report_id}/{step}")
def report_step(
    report_id: int,
    step: str,
    request: Request,
    service: ServiceDep,
    reason: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Submit a validated report, or retract one the clearinghouse opened but never finished."""
    ctx = posted(request, service, csrf, P.REPORT)
    if isinstance(ctx, Response):
        return ctx
    try:
        if step == "submit":
            result = reports.submit(service.store, ctx.who, report_id, service.vault, service.config.reports)
        elif step == "retract":
            result = reports.retract(service.store, ctx.who, report_id, service.config.reports, reason)
        else:
            return back(f"/ui/reports/{report_id}")
    except VigilError as exc:
        tell(request, service, f"Report {report_id}: {exc}")
    else:
        tell(request, service, f"Report {report_id}: {result['status']}.")
    return back(f"/ui/reports/{report_id}")


@router.get("/ui/audit")
def audit_page(
    request: Request,
    service: ServiceDep,
    action: str = "",
    actor: str = "",
    target: str = "",
    verify: int = 0,
) -> Response:
    """The audit log, filtered (latest 200 matching events), and the chain's verification."""
    ctx = guard(request, service, P.AUDIT)
    if isinstance(ctx, Response):
        return ctx
    events = audit.events(
        service.store, action=action or None, actor=actor or None, target=target or None, limit=200
    )
    verdict = audit.verify(service.store) if verify else None
    audit.log(
        service.store, ctx.who, "audit.view", None, {"action": action, "actor": actor, "target": target}
    )
    return page(
        request,
        service,
        "audit.html",
        ctx,
        events=list(reversed(events)),
        verdict=verdict,
        filters={"action": action, "actor": actor, "target": target},
    )


@router.get("/ui/lists")
def lists_page(request: Request, service: ServiceDep) -> Response:
    """Every list with its entries, purpose and the state of its imports."""
    ctx = guard(request, service, P.LISTS)
    if isinstance(ctx, Response):
        return ctx
    return page(
        request,
        service,
        "lists.html",
        ctx,
        stats=lists.stats(service.store),
    )
