"""/v1/evidence: preserved evidence, its custody trail, and legal holds (the same as the UI page)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter

from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import EvidenceDossierOut, EvidenceOut, Reason
from vigil.review import custody

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])
Keeper = Annotated[Actor, need(Permission.EVIDENCE)]
Onlooker = Annotated[Actor, need(Permission.EVIDENCE, Permission.AUDIT)]


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@router.get("")
def list_evidence(who: Onlooker, service: ServiceDep) -> list[EvidenceOut]:
    """Every piece of evidence, its hold, and whether its custody trail verifies (admins, auditors)."""
    return [EvidenceOut.model_validate(_plain(asdict(row))) for row in custody.listing(service.store, who)]


@router.get("/{evidence_id}")
def show_evidence(evidence_id: int, who: Onlooker, service: ServiceDep) -> EvidenceDossierOut:
    """Metadata, the context frozen with it, and the custody trail."""
    found = custody.dossier(service.store, who, evidence_id)
    return EvidenceDossierOut.model_validate(_plain(asdict(found)))


@router.post("/{evidence_id}/release")
def release_hold(evidence_id: int, body: Reason, who: Keeper, service: ServiceDep) -> EvidenceDossierOut:
    """Release a legal hold with the reason (custody trail and audit log)."""
    custody.release(service.store, service.vault, who, evidence_id, body.reason)
    return show_evidence(evidence_id, who, service)


@router.post("/{evidence_id}/hold")
def place_hold(evidence_id: int, body: Reason, who: Keeper, service: ServiceDep) -> EvidenceDossierOut:
    """Place a legal hold again, with the reason."""
    custody.hold(service.store, service.vault, who, evidence_id, body.reason)
    return show_evidence(evidence_id, who, service)
