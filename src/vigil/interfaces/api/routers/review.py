"""/v1/review: the reviewer's queue and votes (JSON; the same steps as the review UI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from vigil.core.actor import Actor, Permission
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import NextItem, QueueItem, Reason, VoteRequest, VoteResponse
from vigil.review import assign, links
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


@router.post("/next")
def review_next(who: Annotated[Actor, need(Permission.REVIEW)], service: ServiceDep) -> NextItem:
    """Lease the next item to this reviewer (the one they hold, else the highest-priority open one
    with a free place); votes come from reviewers an item was handed to."""
    item_id = assign.next_item(service.store, who)
    ends = assign.lease_ends(service.store, who, [item_id]) if item_id is not None else {}
    until = ends.get(item_id) if item_id is not None else None
    return NextItem(item_id=item_id, lease_until=until.isoformat() if until else None)


@router.post("/{item_id}/undo")
def review_undo(
    item_id: int, who: Annotated[Actor, need(Permission.REVIEW)], service: ServiceDep
) -> VoteResponse:
    """Take back one's own vote within the undo window, unless it decided the item."""
    status = assign.undo(service.store, who, item_id)
    return VoteResponse(status=status.value, votes=len(review.votes_of(service.store, item_id)))


@router.post("/{item_id}/requeue")
def review_requeue(
    item_id: int, body: Reason, who: Annotated[Actor, need(Permission.REVIEW)], service: ServiceDep
) -> VoteResponse:
    """Ask for a linked item (a copy of one already in review) to be reviewed on its own."""
    links.requeue(service.store, who, item_id, body.reason)
    return VoteResponse(status="pending", votes=0)
