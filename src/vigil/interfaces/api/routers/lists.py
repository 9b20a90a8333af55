"""/v1/lists and /v1/index: list statistics, imports, exports, and rebuilding the matching index."""

from __future__ import annotations

import io
import secrets
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from vigil.core.actor import Actor, Permission
from vigil.core.errors import InvalidInput
from vigil.core.states import ListPurpose
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import IndexResponse, JobTicket, ListStats
from vigil.lists import domain as lists
from vigil.lists.formats import FORMATS
from vigil.sources import jobs
from vigil.store import audit

router = APIRouter(tags=["lists"])


@router.get("/v1/lists")
def get_lists(who: Annotated[Actor, need(Permission.MATCH)], service: ServiceDep) -> list[ListStats]:
    """Every list with its purpose, entries per hash type and overlap with other lists."""
    return [ListStats.model_validate(row) for row in lists.stats(service.store)]


@router.post("/v1/lists/{name}/import", status_code=202)
def import_list(
    name: str,
    who: Annotated[Actor, need(Permission.LISTS)],
    service: ServiceDep,
    file: UploadFile = File(...),
    fmt: Annotated[str, Form(alias="format")] = "csv",
    purpose: Annotated[str, Form()] = "known",
) -> JobTicket:
    """Queue the import of a list file for `vigil worker` (202 with the job id; follow it at
    /v1/jobs/{id}). The upload is spooled to disk in chunks, never held in memory; the import is
    staged and published in one transaction, and the service's index picks it up by itself."""
    FORMATS.get(fmt)  # an unknown format is refused now, not in the worker
    if purpose not in {p.value for p in ListPurpose}:
        known = ", ".join(p.value for p in ListPurpose)
        raise InvalidInput(f"unknown list purpose {purpose!r} (known: {known})")
    service.config.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    suffix = Path(file.filename or "list").suffix[:16]
    spooled = service.config.spool_dir / f"import-{secrets.token_hex(12)}{suffix}"
    with spooled.open("wb") as handle:
        shutil.copyfileobj(file.file, handle, 1 << 20)
    params = {"list": name, "format": fmt, "purpose": purpose, "file": str(spooled.resolve())}
    return JobTicket(job=jobs.queue(service.store, who, jobs.LIST_IMPORT, params), kind=jobs.LIST_IMPORT)


@router.get("/v1/lists/{name}/export")
def export_list(
    name: str, who: Annotated[Actor, need(Permission.LISTS)], service: ServiceDep, fmt: str = "csv"
) -> Response:
    """A list in a registered format (audited); formats that write one file per video come zipped."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"{name}.{fmt}"
        lists.export(service.store, who, name, fmt, out)
        if out.is_dir():
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for member in sorted(out.iterdir()):
                    archive.write(member, member.name)
            return Response(buffer.getvalue(), media_type="application/zip")
        return Response(out.read_bytes(), media_type="application/octet-stream")


@router.post("/v1/index/rebuild")
def rebuild_index(who: Annotated[Actor, need(Permission.LISTS)], service: ServiceDep) -> IndexResponse:
    """Rebuild the matching index from the store and swap it in without downtime."""
    matcher = service.matchers.rebuild()
    audit.log(service.store, who, "index.rebuild", None, {"entries": len(matcher)})
    return IndexResponse(entries=len(matcher), kind=matcher.index_kind)
