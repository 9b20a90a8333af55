"""/v1/review: the reviewer's queue and votes (JSON; the same steps as the review UI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import QueueItem, VoteRequest, VoteResponse
from vigil.review import domain as review

router = APIRouter(prefix="/v1/review", tags=["review"])


@router.get("/queue")
def review_queue(who: Annotated[Actor, need(Permission.REVIEW)], service: ServiceDep) -> list[QueueItem]:
    """Open items for this reviewer, highest priority first (escalations for senior reviewers)."""
    return [
        QueueItem(id=i.id, status=i.status.value, priority=i.priority, reason=i.reason, sha256=i.sha256)
        for i in review.queue(service.store, who)
    ]


@router.post("/{item_id}/vote")
def review_vote(
    item_id: int, body: VoteRequest, who: Annotated[Actor, need(Permission.REVIEW)], service: ServiceDep
) -> VoteResponse:
    """Vote once on an item; agreement of the required reviewers decides it, disagreement escalates."""
    result = review.vote(
        service.store,
        who,
        item_id,
        body.decision,
        body.scheme,
        body.category,
        body.note,
        service.on_confirmed,
        {"publicly_available": body.publicly_available, "potential_meme": body.potential_meme},
        service.on_rejected,
    )
    return VoteResponse(status=result.status.value, votes=result.votes)
