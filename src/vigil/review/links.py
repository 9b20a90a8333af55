"""No re-exposure: a file already in review is not shown to reviewers again.

A new item whose SHA-256 equals an earlier item's, or whose PDQ hash is within `LINK_RADIUS` bits
of an already decided item's, is linked to that item instead of being queued. A link to a decided
item inherits its decision at once; a link to an open item inherits it when that item is decided.
Linked items stay out of the queue and are shown as linked; a reviewer may ask for one to be
reviewed on its own (`requeue`), which is audited. Every link and inheritance is audited with what
it rests on (`sha256`, or `pdq` and the distance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vigil.core.actor import Actor, Permission
from vigil.core.clock import utcnow
from vigil.core.errors import Conflict, Forbidden, NotFound
from vigil.core.states import ReviewStatus
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import ReviewItem
from vigil.store.repo import review as repo

LINK_RADIUS = 8  # PDQ bits: near-identical re-encodes, far inside the 31-bit match threshold
SYSTEM = Actor.system("review")


@dataclass(frozen=True)
class Link:
    to: int
    by: str  # sha256 or pdq
    distance: int


Settle = Callable[[Tx, ReviewItem, Actor], None]
Hooks = tuple[Settle | None, Settle | None]  # run on an inherited confirmation, on a rejection


class DecidedPdqs:
    """The PDQ hashes of decided items, loaded once per transaction and compared with numpy (a scan
    that queues thousands of items against 100k decided ones costs one load and a vector op each)."""

    def __init__(self, tx: Tx) -> None:
        rows = repo.decided_with_pdq(tx)
        self.ids = np.array([item_id for item_id, _ in rows], dtype=np.int64)
        self.words = np.array([_words(pdq) for _, pdq in rows], dtype=np.uint64).reshape(-1, 4)

    def nearest(self, pdq: str) -> tuple[int, int] | None:
        """(item id, distance) of the closest decided item within `LINK_RADIUS`, else None."""
        if not len(self.ids):
            return None
        query = np.array(_words(pdq), dtype=np.uint64)
        distances = np.bitwise_count(self.words ^ query).sum(axis=1)
        best = int(np.argmin(distances))
        distance = int(distances[best])
        return (int(self.ids[best]), distance) if distance <= LINK_RADIUS else None


def _words(pdq: str) -> list[int]:
    return [int(pdq[i : i + 16], 16) for i in range(0, 64, 16)]


def original_of(
    tx: Tx, item: ReviewItem, pool: DecidedPdqs | None = None
) -> tuple[ReviewItem, str, int] | None:
    """The earlier item this one repeats, with what the link rests on: the same SHA-256 (decided
    items first, then the oldest open one), else a decided item's PDQ within `LINK_RADIUS`."""
    found = [row for row in repo.unlinked_with_hash(tx, item.sha256, item.id) if row.sha256]
    found.sort(key=lambda row: (not row.status.decided, row.id))
    if found:
        return found[0], "sha256", 0
    if not item.pdq:
        return None
    best = (pool or DecidedPdqs(tx)).nearest(item.pdq)
    if best is None:
        return None
    original = repo.item(tx, best[0])
    return (original, "pdq", best[1]) if original is not None else None


def link_new(
    tx: Tx, item: ReviewItem, actor: Actor, hooks: Hooks = (None, None), pool: DecidedPdqs | None = None
) -> bool:
    """Link a just-added item to the item it repeats, if any (inheriting a decision already made);
    `pool`: the decided PDQs, when the caller links many items in one transaction."""
    found = original_of(tx, item, pool) if item.sha256 else None
    if found is None:
        return False
    original, by, distance = found
    item.linked_to = original.id
    audit.record(
        tx,
        actor,
        "review.linked",
        f"review:{item.id}",
        {"to": original.id, "by": by, "distance": distance, "status": original.status.value},
    )
    if original.status.decided:
        inherit(tx, item, original, hooks)
    return True


def inherit(tx: Tx, item: ReviewItem, original: ReviewItem, hooks: Hooks) -> None:
    """Give a linked item its original's decision (reviewer flags are not copied: they were
    observations about the other file); the decision's effects run for this item too."""
    item.status = original.status
    item.category_scheme, item.category = original.category_scheme, original.category
    item.decided_at = utcnow()
    audit.record(
        tx,
        SYSTEM,
        f"review.{item.status.value}",
        f"review:{item.id}",
        {"inherited_from": original.id, "scheme": item.category_scheme, "category": item.category},
    )
    on_confirmed, on_rejected = hooks
    if item.status == ReviewStatus.CONFIRMED and on_confirmed is not None:
        on_confirmed(tx, item, SYSTEM)
    elif item.status == ReviewStatus.REJECTED and on_rejected is not None:
        on_rejected(tx, item, SYSTEM)


def settle_linked(tx: Tx, original: ReviewItem, hooks: Hooks) -> int:
    """When an item is decided, the open items linked to it inherit the decision."""
    count = 0
    for item in repo.linked(tx, original.id, open_only=True):
        inherit(tx, item, original, hooks)
        count += 1
    return count


def requeue(store: Store, reviewer: Actor, item_id: int, reason: str) -> None:
    """A reviewer asks to review a linked item on its own: it loses the link (and an inherited
    decision) and enters the queue. Evidence already preserved for it stays under its hold."""
    if not reviewer.can(Permission.REVIEW):
        raise Forbidden(f"role {reviewer.role} cannot review")
    if not reason.strip():
        raise Conflict("say why this item needs its own review")
    with store.transaction() as tx:
        item = repo.item(tx, item_id, for_update=True)
        if item is None:
            raise NotFound(f"no review item {item_id}")
        if item.linked_to is None:
            raise Conflict(f"item {item_id} is not linked to another item")
        audit.record(
            tx,
            reviewer,
            "review.requeued",
            f"review:{item_id}",
            {"was_linked_to": item.linked_to, "inherited": item.status.value, "reason": reason.strip()},
        )
        item.linked_to = None
        item.status = ReviewStatus.PENDING
        item.category_scheme = item.category = None
        item.decided_at = None


def link_of(store: Store, item_id: int) -> Link | None:
    """What a linked item's link rests on, from its audit event."""
    with store.session() as tx:
        found = audit.events_on(tx, f"review:{item_id}", ("review.linked",))
    if not found:
        return None
    detail = audit.detail_of(found[-1])
    return Link(int(detail["to"]), str(detail["by"]), int(detail.get("distance", 0)))
