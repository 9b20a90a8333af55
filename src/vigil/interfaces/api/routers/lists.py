"""/v1/lists and /v1/index: list statistics, imports, exports, and rebuilding the matching index."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import ImportResponse, IndexResponse, ListStats
from vigil.lists import domain as lists
from vigil.lists.formats import FORMATS
from vigil.store import audit

router = APIRouter(tags=["lists"])


@router.get("/v1/lists")
def get_lists(who: Annotated[Actor, need(Permission.MATCH)], service: ServiceDep) -> list[ListStats]:
    """Every list with its purpose, entries per hash type and overlap with other lists."""
    return [ListStats.model_validate(row) for row in lists.stats(service.store)]


@router.post("/v1/lists/{name}/import")
def import_list(
    name: str,
    who: Annotated[Actor, need(Permission.LISTS)],
    service: ServiceDep,
    file: UploadFile = File(...),
    fmt: Annotated[str, Form(alias="format")] = "csv",
    purpose: Annotated[str, Form()] = "known",
) -> ImportResponse:
    """Import a list file (audited); the matching index is rebuilt and swapped in afterwards."""
    reader = FORMATS.get(fmt)
    suffix = Path(file.filename or "list").suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(file.file.read())
        handle.flush()
        result = lists.import_rows(service.store, who, name, reader.read(Path(handle.name)), purpose=purpose)
    service.matchers.rebuild()
    return ImportResponse(
        rows=result.rows, new_entries=result.new_entries, rejected=[str(e) for e in result.errors]
    )


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
