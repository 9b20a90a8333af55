"""The review queue: items from matches, votes, N-of-M agreement, escalation on disagreement.

An item is decided when `required_votes` reviewers agree on the decision and, for a confirmation,
on the category. Any disagreement escalates it; only a senior reviewer (or admin) rules on an
escalated item, and that ruling is final. A reviewer votes once per item. Every step is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.intel.classify import monitor
from vigil.intel.classify.priority import PriorityWeights, priority
from vigil.review import categories
from vigil.review.keys import Principal
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ClassifierScore, ReviewItem, ReviewVote, Scan, ScanItem, ScanMatch, utcnow

DEFAULT_REQUIRED_VOTES = 2
DECISIONS = ("confirm", "reject")

OnConfirmed = Callable[[Session, ReviewItem, Principal], None]


class ReviewError(Exception):
    """A vote that is not allowed (wrong role, second vote, item already decided...)."""


def enqueue_scan(
    store: Store,
    scan_id: int,
    required_votes: int = DEFAULT_REQUIRED_VOTES,
    contexts: dict[str, dict[str, Any]] | None = None,
    classifier_threshold: float = 0.5,
    weights: PriorityWeights | None = None,
) -> int:
    """Turn a scan's matched items, and items an active classifier scored at or above the threshold,
    into review items (once each); returns how many were added.

    `contexts` maps an item path (absolute, or relative to the scan root) to what the provider
    knows about it: uploader, account, IP capture events, country. Reports need it.
    """
    contexts = contexts or {}
    added = 0
    demoted = monitor.demoted_models(store)
    with store.session() as session:
        rows = session.execute(
            select(ScanItem, ScanMatch)
            .join(ScanMatch, ScanMatch.item_id == ScanItem.id)
            .where(ScanItem.scan_id == scan_id)
            .order_by(ScanItem.id)
        ).all()
        existing = set(
            session.scalars(select(ReviewItem.scan_item_id).where(ReviewItem.scan_item_id.is_not(None)))
        )
        grouped: dict[int, tuple[ScanItem, list[ScanMatch]]] = {}
        for item, match in rows:
            grouped.setdefault(item.id, (item, []))[1].append(match)
        scored: dict[int, list[ClassifierScore]] = {}
        for item, score in session.execute(
            select(ScanItem, ClassifierScore)
            .join(ClassifierScore, ClassifierScore.scan_item_id == ScanItem.id)
            .where(ScanItem.scan_id == scan_id)
        ).all():
            scored.setdefault(item.id, []).append(score)
            if (
                item.id not in grouped
                and score.model_id not in demoted
                and score.score >= classifier_threshold
            ):
                grouped[item.id] = (item, [])
        scan = session.get(Scan, scan_id)
        root = scan.root if scan else ""
        for item_id, (item, matches) in grouped.items():
            if item_id in existing:
                continue
            relative = (
                item.path[len(root) :].lstrip("/") if root and item.path.startswith(root) else item.path
            )
            scores: dict[str, dict[str, float]] = {}
            for row in scored.get(item_id, []):
                scores.setdefault(row.model_id, {})[row.name] = row.score
            review = ReviewItem(
                scan_item_id=item_id,
                source="scan",
                path=item.path,
                sha256=item.sha256 or "",
                md5=item.md5,
                media_type=item.media_type,
                priority=priority({m.hash_type for m in matches}, scores, demoted, weights),
                reason={
                    "scan_id": scan_id,
                    "matches": [[m.hash_type, m.distance, m.entry_id] for m in matches],
                    "scores": [
                        [r.model_id, r.model_version, r.name, round(r.score, 4)]
                        for r in scored.get(item_id, [])
                    ],
                },
                context=contexts.get(item.path) or contexts.get(relative) or {},
                required_votes=required_votes,
            )
            session.add(review)
            session.flush()
            audit.record(session, "system", "review.enqueue", f"review:{review.id}", {"scan_item": item_id})
            added += 1
        session.commit()
    return added


def submit_item(
    store: Store,
    actor: Principal,
    *,
    sha256: str,
    md5: str | None,
    path: str | None,
    media_type: str | None,
    reason: dict[str, Any],
    context: dict[str, Any],
    priority: float,
    required_votes: int = DEFAULT_REQUIRED_VOTES,
    source: str = "api",
) -> int:
    with store.session() as session:
        review = ReviewItem(
            source=source,
            path=path,
            sha256=sha256,
            md5=md5,
            media_type=media_type,
            priority=priority,
            reason=reason,
            context=context,
            required_votes=required_votes,
        )
        session.add(review)
        session.flush()
        audit.record(session, actor.actor, "review.enqueue", f"review:{review.id}", {"source": source})
        session.commit()
        return review.id


@dataclass(frozen=True)
class VoteResult:
    status: str
    votes: int


def vote(
    store: Store,
    item_id: int,
    reviewer: Principal,
    decision: str,
    scheme: str | None = None,
    category: str | None = None,
    note: str | None = None,
    on_confirmed: OnConfirmed | None = None,
) -> VoteResult:
    if not reviewer.can("review"):
        raise ReviewError(f"role {reviewer.role} cannot review")
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {DECISIONS}")
    if decision == "confirm":
        if not scheme or not category:
            raise ReviewError("a confirmation needs a category")
        try:
            scheme, category = categories.validate(scheme, category)
        except (KeyError, ValueError) as exc:
            raise ReviewError(str(exc)) from None
    else:
        scheme = category = None
    with store.session() as session:
        item = session.get(ReviewItem, item_id, with_for_update=True)
        if item is None:
            raise ReviewError(f"no review item {item_id}")
        if item.status in ("confirmed", "rejected"):
            raise ReviewError(f"item {item_id} is already {item.status}")
        votes = list(session.scalars(select(ReviewVote).where(ReviewVote.item_id == item_id)))
        if any(v.reviewer_id == reviewer.id for v in votes):
            raise ReviewError("each reviewer votes once per item")
        final = item.status == "escalated"
        if final and not reviewer.can("escalation"):
            raise ReviewError("escalated items are decided by a senior reviewer")
        session.add(
            ReviewVote(
                item_id=item_id,
                reviewer_id=reviewer.id,
                decision=decision,
                category_scheme=scheme,
                category=category,
                note=note,
                final=final,
            )
        )
        audit.record(
            session,
            reviewer.actor,
            "review.vote",
            f"review:{item_id}",
            {"decision": decision, "scheme": scheme, "category": category, "final": final},
        )
        key = (decision, scheme, category)
        if final:
            _decide(session, item, key, reviewer, on_confirmed)
        elif any((v.decision, v.category_scheme, v.category) != key for v in votes):
            item.status = "escalated"
            audit.record(session, "system", "review.escalate", f"review:{item_id}", {"votes": len(votes) + 1})
        elif len(votes) + 1 >= item.required_votes:
            _decide(session, item, key, reviewer, on_confirmed)
        session.commit()
        return VoteResult(item.status, len(votes) + 1)


def _decide(
    session: Session,
    item: ReviewItem,
    key: tuple[str, str | None, str | None],
    reviewer: Principal,
    on_confirmed: OnConfirmed | None,
) -> None:
    decision, scheme, category = key
    item.status = "confirmed" if decision == "confirm" else "rejected"
    item.category_scheme, item.category = scheme, category
    item.decided_at = utcnow()
    audit.record(
        session,
        "system",
        f"review.{item.status}",
        f"review:{item.id}",
        {"scheme": scheme, "category": category},
    )
    if item.status == "confirmed" and on_confirmed is not None:
        on_confirmed(session, item, reviewer)


def queue(store: Store, reviewer: Principal, limit: int = 50) -> list[ReviewItem]:
    """Open items for this reviewer, highest priority first: pending ones they have not voted on,
    and escalated ones if they may rule on escalations."""
    statuses = ["pending", "escalated"] if reviewer.can("escalation") else ["pending"]
    with store.session() as session:
        voted = select(ReviewVote.item_id).where(ReviewVote.reviewer_id == reviewer.id)
        query = (
            select(ReviewItem)
            .where(ReviewItem.status.in_(statuses), ReviewItem.id.not_in(voted))
            .order_by(ReviewItem.priority.desc(), ReviewItem.id)
            .limit(limit)
        )
        return list(session.scalars(query))
