"""/v1/reports: CyberTipline reports for confirmed items: draft, list, show, submit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from vigil.actions.reports import domain as reports
from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import DraftRequest, DraftResponse, Reason, ReportRow, SubmitResponse

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Reporter = Annotated[Actor, need(Permission.REPORT)]


@router.post("")
def draft_report(body: DraftRequest, who: Reporter, service: ServiceDep) -> DraftResponse:
    """Draft the report for a confirmed item, validated against the CyberTipline XSD (422 with the
    schema's messages if it does not validate); shows what is missing and why each flag is set."""
    view = reports.draft(service.store, who, body.item_id, service.config.reports)
    return DraftResponse.model_validate(view)


@router.get("")
def list_reports(who: Reporter, service: ServiceDep) -> list[ReportRow]:
    """Every report with its status and, for failed ones, the reason."""
    return [ReportRow.model_validate(row) for row in reports.listing(service.store)]


@router.get("/{report_id}")
def show_report(report_id: int, who: Reporter, service: ServiceDep) -> DraftResponse:
    """One report: status, XML, and the recorded facts behind each legal statement."""
    return DraftResponse.model_validate(reports.show(service.store, report_id, service.config.reports))


@router.post("/{report_id}/submit")
def submit_report(report_id: int, who: Reporter, service: ServiceDep) -> SubmitResponse:
    """Send a validated report with its evidence; a failure is recorded and answered with 502."""
    result = reports.submit(service.store, who, report_id, service.vault, service.config.reports)
    return SubmitResponse.model_validate(result)


@router.post("/{report_id}/retract")
def retract_report(report_id: int, body: Reason, who: Reporter, service: ServiceDep) -> SubmitResponse:
    """Withdraw a report the clearinghouse opened but never finished, with the reason (audited)."""
    result = reports.retract(service.store, who, report_id, service.config.reports, body.reason)
    return SubmitResponse.model_validate({**result, "failure": None})
