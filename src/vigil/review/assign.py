"""Assignment: an item is leased to a reviewer for a while, and each vote comes from a lease.

No more reviewers hold an item at once than it still needs votes (one for an escalation), so the
N agreeing votes come from N reviewers who were each handed the item on their own and saw it blind
(votes stay hidden until one's own). A lease ends when its reviewer votes or when it expires; then
the item can go to someone else. A vote can be taken back for `UNDO_FOR` unless it decided the item.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from vigil.core.actor import Actor, Permission
from vigil.core.clock import aware, utcnow
from vigil.core.errors import Conflict, Forbidden, NotFound
from vigil.core.states import Decision, ReviewStatus
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import ReviewItem, ReviewLease, ReviewVote
from vigil.store.repo import leases
from vigil.store.repo import review as repo

LEASE_FOR = timedelta(minutes=10)
UNDO_FOR = timedelta(seconds=30)
SYSTEM = Actor.system("review")


class Taken(Conflict):
    """Every open place on the item is leased to other reviewers."""


def open_places(tx: Tx, item: ReviewItem, reviewer_id: int, now: datetime) -> int:
    """How many more reviewers (besides this one) the item can be handed to right now."""
    needed = (
        1 if item.status == ReviewStatus.ESCALATED else item.required_votes - repo.vote_count(tx, item.id)
    )
    return needed - leases.live_others(tx, item.id, reviewer_id, now)


def agreement(vote: ReviewVote) -> tuple[Decision, str | None, str | None]:
    """What votes must share to agree: the decision and, for a confirmation, the category."""
    return vote.decision, vote.category_scheme, vote.category


def _live(tx: Tx, item: ReviewItem, reviewer_id: int, now: datetime) -> ReviewLease | None:
    """This reviewer's lease on the item when it has not expired; raises `Taken` when they hold
    none and every place is leased to others (an expired lease frees its place)."""
    lease = leases.of(tx, item.id, reviewer_id)
    if lease is not None and aware(lease.expires_at) > now:
        return lease
    if open_places(tx, item, reviewer_id, now) <= 0:
        expired = " (your lease expired and the item went to another reviewer)" if lease else ""
        raise Taken(f"item {item.id} is assigned to other reviewers{expired}")
    return None


def may_vote(tx: Tx, item: ReviewItem, reviewer: Actor, now: datetime | None = None) -> None:
    """A vote needs the reviewer's live lease or a free place (nothing is leased for the check)."""
    if reviewer.key_id is None:
        raise Forbidden("votes come from reviewers' keys")
    _live(tx, item, reviewer.key_id, now or utcnow())


def claim(tx: Tx, item: ReviewItem, reviewer: Actor, now: datetime | None = None) -> datetime:
    """Hold this reviewer's lease on an open item, taking one if a place is free; returns its expiry.

    Raises `Taken` when the places are all leased to others.
    """
    if reviewer.key_id is None:
        raise Forbidden("leases go to reviewers' keys")
    now = now or utcnow()
    held_now = _live(tx, item, reviewer.key_id, now)
    if held_now is not None:
        return aware(held_now.expires_at)
    until = now + LEASE_FOR
    lease = leases.of(tx, item.id, reviewer.key_id)
    if lease is None:
        tx.add(ReviewLease(item_id=item.id, reviewer_id=reviewer.key_id, leased_at=now, expires_at=until))
    else:
        lease.leased_at, lease.expires_at = now, until
    audit.record(tx, reviewer, "review.lease", f"review:{item.id}", {"until": until.isoformat()})
    return until


def next_item(store: Store, reviewer: Actor, now: datetime | None = None) -> int | None:
    """The item this reviewer should look at next: one they already hold, else the highest-priority
    open item with a free place, which is leased to them. None when nothing is waiting for them."""
    now = now or utcnow()
    if reviewer.key_id is not None:
        with store.session() as tx:
            held = leases.held(tx, reviewer.key_id, now)
        if held:
            return held[0].id
    taken = _lease_new(store, reviewer, now, 1)
    return taken[0] if taken else None


def take(store: Store, reviewer: Actor, count: int, now: datetime | None = None) -> list[int]:
    """Lease up to `count` more open items to this reviewer at once (grid triage); returns their ids."""
    return _lease_new(store, reviewer, now or utcnow(), count)


def _lease_new(store: Store, reviewer: Actor, now: datetime, count: int) -> list[int]:
    """Lease the highest-priority open items with a free place that this reviewer does not hold."""
    if reviewer.key_id is None or not reviewer.can(Permission.REVIEW):
        raise Forbidden(f"role {reviewer.role} cannot review")
    statuses = [ReviewStatus.PENDING]
    if reviewer.can(Permission.ESCALATION):
        statuses.insert(0, ReviewStatus.ESCALATED)
    taken: list[int] = []
    with store.transaction() as tx:
        mine = {item.id for item in leases.held(tx, reviewer.key_id, now)}
        for candidate in repo.open_for(tx, reviewer.key_id, statuses, limit=500):
            if len(taken) >= count:
                break
            if candidate.id in mine:
                continue
            item = repo.item(tx, candidate.id, for_update=True)
            if item is None or item.status not in statuses or item.linked_to is not None:
                continue
            try:
                claim(tx, item, reviewer, now)
            except Taken:
                continue
            taken.append(item.id)
    return taken


def held(store: Store, reviewer: Actor, now: datetime | None = None) -> list[ReviewItem]:
    """Items leased to this reviewer now and still waiting for their vote."""
    if reviewer.key_id is None:
        return []
    with store.session() as tx:
        return leases.held(tx, reviewer.key_id, now or utcnow())


def undo(store: Store, reviewer: Actor, item_id: int, now: datetime | None = None) -> ReviewStatus:
    """Take back one's own vote within `UNDO_FOR`, unless it decided the item (a decision has already
    preserved evidence and fed lists). The lease comes back so the reviewer can vote again."""
    if reviewer.key_id is None:
        raise Forbidden("votes come from reviewers' keys")
    now = now or utcnow()
    with store.transaction() as tx:
        item = repo.item(tx, item_id, for_update=True)
        if item is None:
            raise NotFound(f"no review item {item_id}")
        mine = repo.vote_of(tx, item_id, reviewer.key_id)
        if mine is None:
            raise NotFound(f"you have no vote on item {item_id}")
        age = now - aware(mine.created_at)
        if age > UNDO_FOR:
            raise Conflict(f"a vote can be undone for {int(UNDO_FOR.total_seconds())} s; this one is older")
        if item.status.decided:
            raise Conflict(f"item {item_id} is already {item.status.value}; a decision cannot be undone")
        others = [v for v in repo.votes(tx, item_id) if v.id != mine.id]
        tx.delete(mine)
        if item.status == ReviewStatus.ESCALATED and len({agreement(v) for v in others}) <= 1:
            item.status = ReviewStatus.PENDING
            audit.record(tx, SYSTEM, "review.deescalate", f"review:{item_id}", {"votes": len(others)})
        audit.record(
            tx,
            reviewer,
            "review.vote_undone",
            f"review:{item_id}",
            {"decision": mine.decision.value, "after_s": round(age.total_seconds(), 1)},
        )
        tx.flush()
        claim(tx, item, reviewer, now)
        return item.status


def release(tx: Tx, item_id: int, reviewer_id: int) -> None:
    """End this reviewer's lease (their vote is in)."""
    leases.release(tx, item_id, reviewer_id)


def undoable(store: Store, reviewer: Actor, now: datetime | None = None) -> tuple[int, datetime] | None:
    """This reviewer's latest vote, if it can still be undone: (item id, until when)."""
    if reviewer.key_id is None:
        return None
    now = now or utcnow()
    with store.session() as tx:
        latest = repo.latest_vote_by(tx, reviewer.key_id)
        if latest is None:
            return None
        until = aware(latest.created_at) + UNDO_FOR
        item = repo.item(tx, latest.item_id)
        if until <= now or item is None or item.status.decided:
            return None
        return latest.item_id, until


def lease_ends(store: Store, reviewer: Actor, item_ids: list[int]) -> dict[int, datetime]:
    """When this reviewer's leases on these items end."""
    if reviewer.key_id is None:
        return {}
    with store.session() as tx:
        return {
            item_id: aware(lease.expires_at)
            for item_id in item_ids
            if (lease := leases.of(tx, item_id, reviewer.key_id)) is not None
        }
