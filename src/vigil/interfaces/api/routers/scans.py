"""/v1/scans: start a scan of a folder the server can read, and list recent scans."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter

from vigil.core.actor import Actor, Permission
from vigil.core.errors import Forbidden, NotFound
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import ScanRequest, ScanRow, ScanTicket
from vigil.review import domain as review
from vigil.sources.scan.report import effective_status
from vigil.sources.scan.runner import ScanOptions, recent_scans, run_scan

router = APIRouter(prefix="/v1/scans", tags=["scans"])


@router.post("", status_code=202)
def start_scan(
    body: ScanRequest, who: Annotated[Actor, need(Permission.SCAN)], service: ServiceDep
) -> ScanTicket:
    """Start a scan of a folder inside the configured scan roots; matches become review items."""
    root = Path(body.path).resolve()
    allowed = service.config.scan_roots
    if allowed and not any(root.is_relative_to(r.resolve()) for r in allowed):
        raise Forbidden("path is outside the configured scan roots")
    if not root.exists():
        raise NotFound("path does not exist")
    ticket = uuid.uuid4().hex
    store, votes = service.store, service.config.required_votes

    def work() -> None:
        scan_id = run_scan(store, who, root, ScanOptions(workers=1))
        review.enqueue_scan(store, who, scan_id, votes)

    threading.Thread(target=work, daemon=True, name=f"scan-{ticket}").start()
    return ScanTicket(ticket=ticket, path=str(root))


@router.get("")
def scans(who: Annotated[Actor, need(Permission.SCAN)], service: ServiceDep) -> list[ScanRow]:
    """The 100 most recent scans."""
    return [
        ScanRow(id=s.id, root=s.root, status=effective_status(s).value, started_at=s.started_at.isoformat())
        for s in recent_scans(service.store)
    ]
