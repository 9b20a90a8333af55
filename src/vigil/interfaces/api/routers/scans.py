"""/v1/scans: start a scan of a folder the server can read, and list recent scans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter

from vigil.core.actor import Actor, Permission
from vigil.core.errors import NotFound
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.routers.jobs import job_out
from vigil.interfaces.api.schemas import JobOut, ScanRequest, ScanRow, ScanTicket
from vigil.sources import jobs
from vigil.sources.scan.report import effective_status
from vigil.sources.scan.runner import recent_scans

router = APIRouter(prefix="/v1/scans", tags=["scans"])


@router.post("", status_code=202)
def start_scan(
    body: ScanRequest, who: Annotated[Actor, need(Permission.SCAN)], service: ServiceDep
) -> ScanTicket:
    """Queue a scan of a folder inside the configured scan roots; `vigil worker` runs it (matches
    become review items). The service's own database, vault, keys and index are refused."""
    root = jobs.check_scan_root(Path(body.path), service.config.scan_roots, service.protected_paths())
    job_id = jobs.queue_scan(service.store, who, root, {"votes": service.config.required_votes})
    return ScanTicket(ticket=str(job_id), path=str(root))


@router.get("/jobs/{job_id}")
def scan_job(job_id: int, who: Annotated[Actor, need(Permission.SCAN)], service: ServiceDep) -> JobOut:
    """A queued scan: queued, running, done (with its scan id) or failed (with the reason)."""
    job = jobs.status(service.store, job_id)
    if job.kind != jobs.SCAN:
        raise NotFound(f"job {job_id} is not a scan; see /v1/jobs/{job_id}")
    return job_out(job)


@router.get("")
def scans(who: Annotated[Actor, need(Permission.SCAN)], service: ServiceDep) -> list[ScanRow]:
    """The 100 most recent scans."""
    return [
        ScanRow(id=s.id, root=s.root, status=effective_status(s).value, started_at=s.started_at.isoformat())
        for s in recent_scans(service.store)
    ]
