"""/v1/reports: draft a clearinghouse report for a confirmed item, then submit it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from vigil.actions.reports import domain as reports
from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import DraftResponse, SubmitResponse

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.post("/{item_id}")
def draft_report(
    item_id: int, who: Annotated[Actor, need(Permission.REPORT)], service: ServiceDep
) -> DraftResponse:
    """Draft the clearinghouse report for a confirmed item; shows what is missing before sending."""
    return DraftResponse.model_validate(reports.draft(service.store, who, item_id, service.config.reports))


@router.post("/{report_id}/submit")
def submit_report(
    report_id: int, who: Annotated[Actor, need(Permission.REPORT)], service: ServiceDep
) -> SubmitResponse:
    """Send a drafted report with its evidence; a failure is recorded and answered with 502."""
    result = reports.submit(service.store, who, report_id, service.vault, service.config.reports)
    return SubmitResponse.model_validate(result)
