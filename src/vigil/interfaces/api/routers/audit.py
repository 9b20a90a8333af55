"""/v1/audit and /v1/transparency: verify the audit chain, export the transparency report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import VerifyResponse
from vigil.review import transparency
from vigil.store import audit

router = APIRouter(tags=["audit"])


@router.get("/v1/audit/verify")
def audit_verify(who: Annotated[Actor, need(Permission.AUDIT)], service: ServiceDep) -> VerifyResponse:
    """Recompute the audit hash chain and name the first altered or missing event."""
    result = audit.verify(service.store)
    return VerifyResponse(
        ok=result.ok, events=result.events, first_bad_seq=result.first_bad_seq, problem=result.problem
    )


@router.get("/v1/transparency")
def transparency_report(
    who: Annotated[Actor, need(Permission.TRANSPARENCY)], service: ServiceDep
) -> dict[str, Any]:
    """Counts by source, list, category and outcome, and false-positive rates from human decisions."""
    audit.log(service.store, who, "transparency.export")
    return transparency.build(service.store)
