"""HMA's /h/hash (photo PDQ, video MD5, from an upload or an allowed URL)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vigil.core.actor import Permission
from vigil.interfaces.api.service import get_service
from vigil.interfaces.hma.common import hash_form, hash_url, who

router = APIRouter(tags=["hma"])


@router.get("/h/hash")
def hash_get(request: Request, url: str, content_type: str | None = None) -> dict[str, str]:
    """Hash the content at a URL (configured hosts only)."""
    who(request, Permission.MATCH)
    return hash_url(get_service(request), url, content_type)


@router.post("/h/hash")
async def hash_post(request: Request) -> dict[str, str]:
    """Hash one uploaded file (`photo` or `video` form field)."""
    who(request, Permission.MATCH)
    return await hash_form(request)
