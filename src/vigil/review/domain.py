"""The review queue: items from matches, votes, N-of-M agreement, escalation on disagreement.

An item is decided when `required_votes` reviewers agree on the decision and, for a confirmation,
on the category. Any disagreement escalates it; only a senior reviewer (or admin) rules on an
escalated item, and that ruling is final. A reviewer votes once per item. Every step is audited in
the transaction that makes it, under the actor who took it (`system:review` for the automatic ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from vigil.core import defaults
from vigil.core.actor import Actor, Permission
from vigil.core.clock import aware, utcnow
from vigil.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from vigil.core.states import Decision, ReviewSource, ReviewStatus
from vigil.intel.classify import monitor
from vigil.intel.classify.priority import PriorityWeights, match_kinds, priority
from vigil.match import verify
from vigil.match.matcher import Match, Matcher
from vigil.review import assign, categories, links
from vigil.review.context import validate as validate_context
from vigil.review.context import validate_all as validate_contexts
from vigil.review.evidence import Vault
from vigil.review.wellness import Look
from vigil.signals.compute import FileSignals, compute
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import ClassifierScore, ReviewItem, ReviewVote, ScanItem, ScanMatch
from vigil.store.repo import review as repo
from vigil.store.repo import scans as scan_repo

DEFAULT_REQUIRED_VOTES = defaults.REQUIRED_VOTES
UNBLUR_FOR = timedelta(minutes=15)  # an unblur lasts this long, or until the reviewer votes
SYSTEM = Actor.system("review")
REVIEWER_FLAGS = ("publicly_available", "potential_meme")  # what a reviewer may record beside the vote

OnConfirmed = Callable[[Tx, ReviewItem, Actor], None]


class ReviewError(Conflict):
    """A vote that is not allowed in the item's state (second vote, item already decided...)."""


def enqueue_scan(
    store: Store,
    actor: Actor,
    scan_id: int,
    required_votes: int = DEFAULT_REQUIRED_VOTES,
    contexts: dict[str, dict[str, Any]] | None = None,
    classifier_threshold: float = 0.5,
    weights: PriorityWeights | None = None,
    hooks: links.Hooks = (None, None),
) -> int:
    """Turn a scan's matched items, and items an active classifier scored at or above the threshold,
    into review items (once each); returns how many were added.

    `contexts` maps an item path (absolute, or relative to the scan root) to what the provider
    knows about it: uploader, account, IP capture events, country. Reports need it. A file already
    in review (same SHA-256, or a decided item's PDQ within a few bits) is linked, not queued again;
    `hooks` run when such a link inherits a confirmation or rejection (evidence preservation).
    """
    contexts = validate_contexts(contexts)
    demoted = monitor.demoted_models(store)
    added = 0
    with store.transaction() as tx:
        existing = repo.scan_item_ids_queued(tx)
        grouped: dict[int, tuple[ScanItem, list[ScanMatch]]] = {}
        for scan_item, match in repo.scan_matches(tx, scan_id):
            grouped.setdefault(scan_item.id, (scan_item, []))[1].append(match)
        scored: dict[int, list[ClassifierScore]] = {}
        for scan_item, score in repo.scan_scores(tx, scan_id):
            scored.setdefault(scan_item.id, []).append(score)
            flagged = score.model_id not in demoted and score.score >= classifier_threshold
            if scan_item.id not in grouped and flagged:
                grouped[scan_item.id] = (scan_item, [])
        scan = scan_repo.scan(tx, scan_id)
        root = scan.root if scan else ""
        pool = links.DecidedPdqs(tx)
        for item_id, (scan_item, matches) in grouped.items():
            if item_id in existing:
                continue
            path = scan_item.path
            relative = path[len(root) :].lstrip("/") if root and path.startswith(root) else path
            scores: dict[str, dict[str, float]] = {}
            for row in scored.get(item_id, []):
                scores.setdefault(row.model_id, {})[row.name] = row.score
            review = ReviewItem(
                scan_item_id=item_id,
                source=ReviewSource.SCAN,
                path=path,
                ref=scan_item.ref,
                sha256=scan_item.sha256 or "",
                md5=scan_item.md5,
                media_type=scan_item.media_type,
                pdq=_linkable(scan_item.pdq, scan_item.pdq_quality),
                priority=priority(
                    match_kinds((m.hash_type, _tier(m), m.detail) for m in matches), scores, demoted, weights
                ),
                reason={
                    "scan_id": scan_id,
                    "matches": [_reason_row(m) for m in matches],
                    "scores": [
                        [r.model_id, r.model_version, r.name, round(r.score, 4)]
                        for r in scored.get(item_id, [])
                    ],
                },
                context=contexts.get(path) or contexts.get(relative) or {},
                required_votes=required_votes,
            )
            tx.add(review)
            tx.flush()
            audit.record(tx, actor, "review.enqueue", f"review:{review.id}", {"scan_item": item_id})
            links.link_new(tx, review, actor, hooks, pool)
            added += 1
    return added


def submit_item(
    store: Store,
    actor: Actor,
    *,
    sha256: str,
    md5: str | None,
    path: str | None,
    media_type: str | None,
    reason: dict[str, Any],
    context: dict[str, Any],
    priority: float,
    required_votes: int = DEFAULT_REQUIRED_VOTES,
    source: ReviewSource = ReviewSource.API,
    pdq: str | None = None,
    hooks: links.Hooks = (None, None),
) -> int:
    """Queue one submitted file, or link it to the item it repeats (see `links`)."""
    context = validate_context(context)
    with store.transaction() as tx:
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
            pdq=pdq,
        )
        tx.add(review)
        tx.flush()
        audit.record(tx, actor, "review.enqueue", f"review:{review.id}", {"source": source.value})
        links.link_new(tx, review, actor, hooks)
        return review.id


class _Matched(Protocol):
    """A match as a scan records it (`ScanMatch`) or as the matcher returns it (`Match`)."""

    @property
    def hash_type(self) -> str: ...
    @property
    def distance(self) -> int: ...
    @property
    def entry_id(self) -> int: ...
    @property
    def variant(self) -> str | None: ...
    @property
    def detail(self) -> dict[str, Any] | None: ...
    @property
    def tier(self) -> str | None: ...


def _tier(match: _Matched) -> str | None:
    return str(match.tier) if match.tier else None  # a StrEnum (Match) or its value (ScanMatch)


def _reason_row(match: _Matched) -> list[Any]:
    """Why an item is queued, one row per match: what the panel, transparency and the UI read."""
    verified = (match.detail or {}).get("verified")
    return [match.hash_type, match.distance, match.entry_id, match.variant, _tier(match), verified]


def _linkable(pdq: str | None, quality: int | None) -> str | None:
    """A PDQ hash good enough to link copies by (a flat image's hash is near many others)."""
    return pdq if pdq and (quality or 0) >= defaults.PDQ_MIN_QUALITY else None


@dataclass(frozen=True)
class VoteResult:
    status: ReviewStatus
    votes: int


def vote(
    store: Store,
    reviewer: Actor,
    item_id: int,
    decision: Decision | str,
    scheme: str | None = None,
    category: str | None = None,
    note: str | None = None,
    on_confirmed: OnConfirmed | None = None,
    flags: Mapping[str, bool | None] | None = None,
    on_rejected: OnConfirmed | None = None,
) -> VoteResult:
    """One reviewer's decision. A confirmation needs a category that means illegal in its scheme;
    `flags` are the reviewer's own observations (publicly available, potential meme) that reports carry.
    """
    if not reviewer.can(Permission.REVIEW) or reviewer.key_id is None:
        raise Forbidden(f"role {reviewer.role} cannot review (votes come from reviewers' keys)")
    try:
        decision = Decision(decision)
    except ValueError:
        raise InvalidInput(f"decision must be one of {', '.join(d.value for d in Decision)}") from None
    if decision == Decision.CONFIRM:
        if not scheme or not category:
            raise InvalidInput("a confirmation needs a category")
        try:
            scheme, category = categories.confirmable(scheme, category)
        except KeyError as exc:
            raise InvalidInput(str(exc).strip("\"'")) from None
    else:
        scheme = category = None
    observed = _flags(flags)
    with store.transaction() as tx:
        item = repo.item(tx, item_id, for_update=True)
        if item is None:
            raise NotFound(f"no review item {item_id}")
        if item.status.decided:
            raise ReviewError(f"item {item_id} is already {item.status}")
        if item.linked_to is not None:
            raise ReviewError(f"item {item_id} repeats item {item.linked_to}; requeue it to review it alone")
        votes = repo.votes(tx, item_id)
        if any(v.reviewer_id == reviewer.key_id for v in votes):
            raise ReviewError("each reviewer votes once per item")
        final = item.status == ReviewStatus.ESCALATED
        if final and not reviewer.can(Permission.ESCALATION):
            raise Forbidden("escalated items are decided by a senior reviewer")
        assign.may_vote(tx, item, reviewer)
        assign.release(tx, item_id, reviewer.key_id)
        tx.add(
            ReviewVote(
                item_id=item_id,
                reviewer_id=reviewer.key_id,
                decision=decision,
                category_scheme=scheme,
                category=category,
                note=note,
                final=final,
                flags=observed or None,
            )
        )
        audit.record(
            tx,
            reviewer,
            "review.vote",
            f"review:{item_id}",
            {
                "decision": decision.value,
                "scheme": scheme,
                "category": category,
                "final": final,
                "flags": observed,
            },
        )
        key = (decision, scheme, category)
        if final:
            _decide(tx, item, key, reviewer, (on_confirmed, on_rejected), [observed])
        elif any(assign.agreement(v) != key for v in votes):
            item.status = ReviewStatus.ESCALATED
            audit.record(tx, SYSTEM, "review.escalate", f"review:{item_id}", {"votes": len(votes) + 1})
        elif len(votes) + 1 >= item.required_votes:
            _decide(
                tx,
                item,
                key,
                reviewer,
                (on_confirmed, on_rejected),
                [v.flags or {} for v in votes] + [observed],
            )
        return VoteResult(item.status, len(votes) + 1)


def _decide(
    tx: Tx,
    item: ReviewItem,
    key: tuple[Decision, str | None, str | None],
    reviewer: Actor,
    then: tuple[OnConfirmed | None, OnConfirmed | None],
    deciding: list[dict[str, bool]],
) -> None:
    decision, scheme, category = key
    item.status = ReviewStatus.CONFIRMED if decision == Decision.CONFIRM else ReviewStatus.REJECTED
    item.category_scheme, item.category = scheme, category
    item.decided_at = utcnow()
    item.flags = _agreed_flags(deciding) or None
    audit.record(
        tx,
        SYSTEM,
        f"review.{item.status.value}",
        f"review:{item.id}",
        {"scheme": scheme, "category": category, "flags": item.flags},
    )
    on_confirmed, on_rejected = then
    if item.status == ReviewStatus.CONFIRMED and on_confirmed is not None:
        on_confirmed(tx, item, reviewer)
    elif item.status == ReviewStatus.REJECTED and on_rejected is not None:
        on_rejected(tx, item, reviewer)
    links.settle_linked(tx, item, then)


def _flags(flags: Mapping[str, bool | None] | None) -> dict[str, bool]:
    observed = {}
    for name, value in (flags or {}).items():
        if name not in REVIEWER_FLAGS:
            raise InvalidInput(f"unknown flag {name!r} (known: {', '.join(REVIEWER_FLAGS)})")
        if value is not None:
            observed[name] = bool(value)
    return observed


def _agreed_flags(deciding: list[dict[str, bool]]) -> dict[str, bool]:
    """A flag is true if any deciding reviewer observed it, false only if every one said false,
    and left out (unknown) otherwise: a report states only what a reviewer recorded."""
    out = {}
    for name in REVIEWER_FLAGS:
        said = [votes[name] for votes in deciding if name in votes]
        if any(said):
            out[name] = True
        elif said and len(said) == len(deciding):
            out[name] = False
    return out


def file_views(tx: Tx, item_id: int) -> list[audit.ViewRecord]:
    """Who saw this item's file unblurred, and when, from the audit log (the only source of truth
    for a report's fileViewedByEsp): an unblur, a clear preview served to a reviewer, or a preview
    served with a region shown clear (a peek is a view of part of the file)."""
    views = []
    for event in audit.events_on(tx, f"review:{item_id}", ("review.unblur", "review.preview")):
        detail = audit.detail_of(event)
        if event.action == "review.unblur" or detail.get("blurred") is False:
            views.append(audit.ViewRecord(event.actor, event.at, event.action))
        elif "peek" in detail:
            views.append(audit.ViewRecord(event.actor, event.at, "review.peek"))
    return views


def _open_states(reviewer: Actor) -> list[ReviewStatus]:
    """Pending items, and escalated ones for those who may rule on escalations."""
    statuses = [ReviewStatus.PENDING]
    if reviewer.can(Permission.ESCALATION):
        statuses.append(ReviewStatus.ESCALATED)
    return statuses


def queue(store: Store, reviewer: Actor, limit: int = 50) -> list[ReviewItem]:
    """Open items for this reviewer, highest priority first: pending ones they have not voted on,
    and escalated ones if they may rule on escalations."""
    with store.session() as tx:
        return repo.open_for(tx, reviewer.key_id, _open_states(reviewer), limit)


def waiting(store: Store, reviewer: Actor) -> dict[ReviewStatus, int]:
    """How many items of `queue` are waiting in each state (counted, not loaded)."""
    with store.session() as tx:
        return repo.open_counts(tx, reviewer.key_id, _open_states(reviewer))


@dataclass(frozen=True)
class Ballot:
    """One vote as shown to those allowed to see it: who, what, which category, their note."""

    reviewer: str
    decision: str
    category: str | None
    note: str | None
    final: bool
    at: datetime


@dataclass(frozen=True)
class ItemView:
    """What a reviewer sees of one item, and whether (and why not) they may vote now. `ballots` is
    empty while the reviewer could still vote blind: they see the others' votes after their own,
    on an escalation they rule on, and once the item is decided. `lease_until`: how long the item
    is assigned to this reviewer; `undo_until`: until when their vote can be taken back."""

    item: ReviewItem
    votes: int
    can_vote: bool
    why_not: str
    unblurred: bool
    ballots: tuple[Ballot, ...] = ()
    lease_until: datetime | None = None
    undo_until: datetime | None = None


def view_item(store: Store, reviewer: Actor, item_id: int) -> ItemView:
    """Open an item for a reviewer; the view is audited. An open item they have not voted on is
    leased to them first (refused with `assign.Taken` when it is assigned to others)."""
    lease_until = undo_until = None
    with store.transaction() as tx:
        item = repo.item(tx, item_id)
        if item is None:
            raise NotFound(f"no review item {item_id}")
        mine = repo.vote_of(tx, item_id, reviewer.key_id) if reviewer.key_id is not None else None
        open_item = not item.status.decided and item.linked_to is None
        may_rule = item.status != ReviewStatus.ESCALATED or reviewer.can(Permission.ESCALATION)
        if open_item and mine is None and reviewer.can(Permission.REVIEW) and may_rule:
            lease_until = assign.claim(tx, item, reviewer)
        if mine is not None and not item.status.decided:
            undo_until = aware(mine.created_at) + assign.UNDO_FOR
        count = repo.vote_count(tx, item_id)
        ruling = item.status == ReviewStatus.ESCALATED and reviewer.can(Permission.ESCALATION)
        shown = mine is not None or ruling or item.status.decided
        ballots = tuple(
            Ballot(name, v.decision.value, _category(v), v.note, v.final, v.created_at)
            for v, name in (repo.votes_with_names(tx, item_id) if shown else [])
        )
        audit.record(tx, reviewer, "review.view", f"review:{item_id}")
    can_vote, why_not = True, ""
    if item.linked_to is not None:
        can_vote, why_not = False, f"Linked to item {item.linked_to}: the same file, already in review."
    elif item.status.decided:
        can_vote, why_not = False, f"Decided: {item.status.value}."
    elif mine is not None:
        can_vote, why_not = False, "You have voted on this item."
    elif item.status == ReviewStatus.ESCALATED and not reviewer.can(Permission.ESCALATION):
        can_vote, why_not = False, "Escalated: a senior reviewer decides."
    if undo_until is not None and undo_until <= utcnow():
        undo_until = None
    return ItemView(
        item, count, can_vote, why_not, unblurred(store, reviewer, item_id), ballots, lease_until, undo_until
    )


def _category(vote: ReviewVote) -> str | None:
    return f"{vote.category_scheme}:{vote.category}" if vote.category_scheme and vote.category else None


def unblur(store: Store, reviewer: Actor, item_id: int) -> None:
    """Record that this reviewer asked to see the item unblurred (it lasts until they vote or expire)."""
    with store.transaction() as tx:
        if repo.item(tx, item_id) is None:
            raise NotFound(f"no review item {item_id}")
        audit.record(tx, reviewer, "review.unblur", f"review:{item_id}")


def unblurred(store: Store, reviewer: Actor, item_id: int, now: datetime | None = None) -> bool:
    """Whether this reviewer unblurred this item recently and has not voted on it since.

    Read from the audit log, so every worker process agrees and the log is the only source of truth.
    """
    with store.session() as tx:
        last = audit.last_event(tx, reviewer, f"review:{item_id}", ("review.unblur", "review.vote"))
    if last is None or last.action != "review.unblur":
        return False
    return (now or utcnow()) - datetime.fromisoformat(last.at) < UNBLUR_FOR


def confirmed_items(store: Store) -> list[ReviewItem]:
    with store.session() as tx:
        return repo.confirmed(tx)


def votes_of(store: Store, item_id: int) -> list[ReviewVote]:
    with store.session() as tx:
        return repo.votes(tx, item_id)


@dataclass(frozen=True)
class UploadOutcome:
    signals: FileSignals
    matches: list[Match]
    review_item: int | None


def submit_upload(
    store: Store,
    actor: Actor,
    matcher: Matcher,
    vault: Vault,
    name: str,
    data: bytes,
    context: dict[str, Any],
    required_votes: int = DEFAULT_REQUIRED_VOTES,
    signals: FileSignals | None = None,
    hooks: links.Hooks = (None, None),
) -> UploadOutcome:
    """Hash and match an uploaded file; a match from a submitter is quarantined and queued for review.

    Other roles only learn whether it matches. The lookup is audited either way. `signals`: the
    file's hashes when the caller computed them elsewhere (the service hashes in worker processes).
    A copy of a file already in review is linked to it, not queued again (`hooks` as for scans).
    """
    context = validate_context(context)
    signals = signals or compute(name, data, "fast")
    result = matcher.match([signals])[0]
    verify.check(store, result, data)
    matches = result.matches
    review_id = None
    if matches and actor.can(Permission.SUBMIT):
        vault.quarantine(data)
        review_id = submit_item(
            store,
            actor,
            sha256=signals.sha256,
            md5=signals.md5,
            path=None,
            media_type=signals.media_type,
            reason={
                "matches": [_reason_row(m) for m in matches],
                "name": name,
            },
            context=context,
            priority=priority(match_kinds((m.hash_type, _tier(m), m.detail) for m in matches), {}, set()),
            required_votes=required_votes,
            pdq=_linkable(signals.pdq, signals.pdq_quality),
            hooks=hooks,
        )
    audit.log(
        store, actor, "match.media", signals.sha256, {"matches": len(matches), "review_item": review_id}
    )
    return UploadOutcome(signals, matches, review_id)


def settle_quarantine(store: Store, vault: Vault, sha256: str) -> bool:
    """Delete a quarantined upload once no undecided item needs it (run after the deciding commit:
    a confirmed item's file is in the evidence vault by then, a rejected one is not kept)."""
    with store.session() as tx:
        if repo.undecided_with_hash(tx, sha256):
            return False
    return vault.release(sha256)


def preview(
    store: Store,
    reviewer: Actor,
    vault: Vault,
    item_id: int,
    clear: bool,
    look: Look | None = None,
    peek: bool = False,
) -> bytes:
    """The item's preview: blurred unless this reviewer unblurred it and asks for it clear, with one
    region clear when they peeked at it (audited either way), drawn with the reviewer's settings."""
    from vigil.review.previews import render

    look = look or Look()
    unblur_now = clear and unblurred(store, reviewer, item_id)
    spot = peeked(store, reviewer, item_id) if peek and not unblur_now else None
    with store.session() as tx:
        item = repo.item(tx, item_id)
    if item is None:
        raise NotFound(f"no review item {item_id}")
    data = vault.content(item) or b""
    detail: dict[str, Any] = {"blurred": not unblur_now}
    if spot is not None:
        detail["peek"] = [round(spot[0], 3), round(spot[1], 3)]
    audit.log(store, reviewer, "review.preview", f"review:{item_id}", detail)
    return render(
        data,
        item.path or "",
        blurred=not unblur_now,
        blur=look.blur,
        greyscale=look.greyscale,
        side=look.preview_size,
        peek=spot,
    )


def peek(store: Store, reviewer: Actor, item_id: int, x: float, y: float) -> None:
    """Record that this reviewer asked to see one spot of the item unblurred (x, y: fractions)."""
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise InvalidInput("a peek is at fractions of the width and height, between 0 and 1")
    with store.transaction() as tx:
        if repo.item(tx, item_id) is None:
            raise NotFound(f"no review item {item_id}")
        audit.record(tx, reviewer, "review.peek", f"review:{item_id}", {"x": round(x, 3), "y": round(y, 3)})


def peeked(
    store: Store, reviewer: Actor, item_id: int, now: datetime | None = None
) -> tuple[float, float] | None:
    """The spot this reviewer last peeked at on this item, while it lasts (as an unblur does)."""
    with store.session() as tx:
        last = audit.last_event(tx, reviewer, f"review:{item_id}", ("review.peek", "review.vote"))
    if last is None or last.action != "review.peek":
        return None
    if (now or utcnow()) - datetime.fromisoformat(last.at) >= UNBLUR_FOR:
        return None
    detail = audit.detail_of(last)
    return float(detail["x"]), float(detail["y"])
