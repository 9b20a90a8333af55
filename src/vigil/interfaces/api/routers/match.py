"""/v1/match: look up bare hashes, or hash and match an uploaded file."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from vigil.core.actor import Actor, Permission
from vigil.core.errors import InvalidInput, UnknownName
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import HashMatchRequest, HashMatchResponse, MatchOut, MediaMatchResponse
from vigil.match.matcher import Match
from vigil.review import domain as review
from vigil.signals.types import hash_type

router = APIRouter(prefix="/v1/match", tags=["match"])


def match_out(match: Match) -> MatchOut:
    return MatchOut.model_validate(
        {
            "hash_type": match.hash_type,
            "value": match.value,
            "distance": match.distance,
            "variant": match.variant,
            "detail": match.detail,
            "tier": match.tier.value,
            "false_match": match.false_match,
            "lists": [
                {"list": s.list_name, "category": s.category, "origin": s.origin} for s in match.sources
            ],
        }
    )


@router.post("/hash")
def match_hash(
    body: HashMatchRequest, who: Annotated[Actor, need(Permission.MATCH)], service: ServiceDep
) -> HashMatchResponse:
    """Match bare hashes: MD5/SHA-1/SHA-256 exactly, PDQ within the radius. Lookups are not audited."""
    pairs = []
    for query in body.hashes:
        try:
            kind = hash_type(query.type)
        except UnknownName as exc:  # a bad field in the body, not a missing resource
            raise InvalidInput(str(exc)) from None
        pairs.append((kind.name, kind.normalize(query.value)))
    return HashMatchResponse(matches=[match_out(m) for m in service.matchers.current.match_hashes(pairs)])


@router.post("/media")
async def match_media(
    who: Annotated[Actor, need(Permission.MATCH)],
    service: ServiceDep,
    file: UploadFile = File(...),
    context: Annotated[str | None, Form(description="JSON: uploader, ip_events, account, country")] = None,
) -> MediaMatchResponse:
    """Hash an uploaded file and match it; a submitter's match is queued for review with its context.

    Hashing runs in a separate worker process (429 when all are busy and the queue is full); the
    event loop only waits for it.
    """
    try:
        extra: dict[str, Any] = json.loads(context) if context else {}
    except json.JSONDecodeError:
        raise InvalidInput("context must be JSON") from None
    name = file.filename or "upload"
    data = await file.read()
    signals = await service.media.signals(name, data)
    outcome = await run_in_threadpool(
        review.submit_upload,
        service.store,
        who,
        service.matchers.current,
        service.vault,
        name,
        data,
        extra,
        service.config.required_votes,
        signals,
        (service.on_confirmed, service.on_rejected),
    )
    return MediaMatchResponse(
        signals={k: v for k, v in outcome.signals.to_dict().items() if k != "video"},
        matches=[match_out(m) for m in outcome.matches],
        review_item=outcome.review_item,
        error=outcome.signals.error,
    )
