"""Queries for review items, votes and the scan matches that raise them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from vigil.core.states import ReviewStatus
from vigil.store.db import Tx
from vigil.store.models import (
    ApiKey,
    ClassifierScore,
    EntrySource,
    HashList,
    ReviewItem,
    ReviewVote,
    ScanItem,
    ScanMatch,
)


def item(tx: Tx, item_id: int, *, for_update: bool = False) -> ReviewItem | None:
    return tx.get(ReviewItem, item_id, with_for_update=for_update)


def votes(tx: Tx, item_id: int) -> list[ReviewVote]:
    return list(tx.scalars(select(ReviewVote).where(ReviewVote.item_id == item_id).order_by(ReviewVote.id)))


def votes_with_names(tx: Tx, item_id: int) -> list[tuple[ReviewVote, str]]:
    """An item's votes in order, each with the name of the key holder who cast it."""
    query = (
        select(ReviewVote, ApiKey.name)
        .join(ApiKey, ApiKey.id == ReviewVote.reviewer_id)
        .where(ReviewVote.item_id == item_id)
        .order_by(ReviewVote.id)
    )
    return [(vote, name) for vote, name in tx.execute(query)]


def vote_count(tx: Tx, item_id: int) -> int:
    return int(tx.scalar(select(func.count()).where(ReviewVote.item_id == item_id)) or 0)


def vote_of(tx: Tx, item_id: int, reviewer_id: int) -> ReviewVote | None:
    return tx.scalar(
        select(ReviewVote).where(ReviewVote.item_id == item_id, ReviewVote.reviewer_id == reviewer_id)
    )


def reviewer_names(tx: Tx, item_id: int) -> list[str]:
    """Names of the keys that voted on an item (for notices signed by their reviewers)."""
    query = (
        select(ApiKey.name)
        .join(ReviewVote, ReviewVote.reviewer_id == ApiKey.id)
        .where(ReviewVote.item_id == item_id)
    )
    return sorted(set(tx.scalars(query)))


Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")  # any select: items, or counts


def _open_where(query: Q, reviewer_id: int | None, statuses: list[ReviewStatus]) -> Q:
    query = query.where(ReviewItem.status.in_(statuses), ReviewItem.linked_to.is_(None))
    if reviewer_id is not None:
        voted = select(ReviewVote.item_id).where(ReviewVote.reviewer_id == reviewer_id)
        query = query.where(ReviewItem.id.not_in(voted))
    return query


def open_for(tx: Tx, reviewer_id: int | None, statuses: list[ReviewStatus], limit: int) -> list[ReviewItem]:
    """Open, unlinked items in these states this reviewer has not voted on, highest priority first."""
    query = _open_where(select(ReviewItem), reviewer_id, statuses)
    return list(tx.scalars(query.order_by(ReviewItem.priority.desc(), ReviewItem.id).limit(limit)))


def open_counts(tx: Tx, reviewer_id: int | None, statuses: list[ReviewStatus]) -> dict[ReviewStatus, int]:
    """How many of the items `open_for` would list are in each state (without loading them)."""
    query = _open_where(select(ReviewItem.status, func.count()), reviewer_id, statuses)
    return {
        ReviewStatus(status): int(count) for status, count in tx.execute(query.group_by(ReviewItem.status))
    }


def confirmed(tx: Tx) -> list[ReviewItem]:
    return list(tx.scalars(select(ReviewItem).where(ReviewItem.status == ReviewStatus.CONFIRMED)))


def all_items(tx: Tx) -> list[ReviewItem]:
    return list(tx.scalars(select(ReviewItem)))


def scan_item_ids_queued(tx: Tx) -> set[int]:
    return set(tx.scalars(select(ReviewItem.scan_item_id).where(ReviewItem.scan_item_id.is_not(None))))


def scan_matches(tx: Tx, scan_id: int) -> list[tuple[ScanItem, ScanMatch]]:
    query = (
        select(ScanItem, ScanMatch)
        .join(ScanMatch, ScanMatch.item_id == ScanItem.id)
        .where(ScanItem.scan_id == scan_id)
        .order_by(ScanItem.id)
    )
    return [(i, m) for i, m in tx.execute(query)]


def scan_scores(tx: Tx, scan_id: int) -> list[tuple[ScanItem, ClassifierScore]]:
    query = (
        select(ScanItem, ClassifierScore)
        .join(ClassifierScore, ClassifierScore.scan_item_id == ScanItem.id)
        .where(ScanItem.scan_id == scan_id)
    )
    return [(i, s) for i, s in tx.execute(query)]


def list_names_of_entries(tx: Tx) -> dict[int, str]:
    """entry id -> name of a list it is on (for counting outcomes per list)."""
    query = select(EntrySource.entry_id, HashList.name).join(HashList, HashList.id == EntrySource.list_id)
    return dict(tx.execute(query).all())


def items_by_ids(tx: Tx, ids: Iterable[int]) -> list[ReviewItem]:
    return list(tx.scalars(select(ReviewItem).where(ReviewItem.id.in_(list(ids)))))


def undecided_with_hash(tx: Tx, sha256: str) -> bool:
    query = select(ReviewItem.id).where(
        ReviewItem.sha256 == sha256, ReviewItem.status.in_((ReviewStatus.PENDING, ReviewStatus.ESCALATED))
    )
    return tx.scalar(query.limit(1)) is not None


def latest_vote_by(tx: Tx, reviewer_id: int) -> ReviewVote | None:
    query = select(ReviewVote).where(ReviewVote.reviewer_id == reviewer_id).order_by(ReviewVote.id.desc())
    return tx.scalars(query.limit(1)).first()


def unlinked_with_hash(tx: Tx, sha256: str, besides: int) -> list[ReviewItem]:
    """Items with this SHA-256 that are not themselves links, oldest first."""
    query = select(ReviewItem).where(
        ReviewItem.sha256 == sha256, ReviewItem.linked_to.is_(None), ReviewItem.id != besides
    )
    return list(tx.scalars(query.order_by(ReviewItem.id)))


def decided_with_pdq(tx: Tx) -> list[tuple[int, str]]:
    """(id, PDQ) of decided items that are not links: what near-identical copies link to."""
    query = select(ReviewItem.id, ReviewItem.pdq).where(
        ReviewItem.pdq.is_not(None),
        ReviewItem.linked_to.is_(None),
        ReviewItem.status.in_((ReviewStatus.CONFIRMED, ReviewStatus.REJECTED)),
    )
    return [(item_id, pdq) for item_id, pdq in tx.execute(query) if pdq]


def linked(tx: Tx, item_id: int, *, open_only: bool = False) -> list[ReviewItem]:
    """Items linked to this one (only the undecided ones with `open_only`)."""
    query = select(ReviewItem).where(ReviewItem.linked_to == item_id)
    if open_only:
        query = query.where(ReviewItem.status.in_((ReviewStatus.PENDING, ReviewStatus.ESCALATED)))
    return list(tx.scalars(query.order_by(ReviewItem.id)))


def with_hash(tx: Tx, sha256: str, besides: int) -> list[ReviewItem]:
    query = select(ReviewItem).where(ReviewItem.sha256 == sha256, ReviewItem.id != besides)
    return list(tx.scalars(query.order_by(ReviewItem.id)))


def match_variants(tx: Tx, scan_item_id: int) -> dict[tuple[str, int], str]:
    """(hash type, entry id) -> the variant that matched, for one scanned item."""
    rows = tx.scalars(select(ScanMatch).where(ScanMatch.item_id == scan_item_id))
    return {(row.hash_type, row.entry_id): row.variant for row in rows if row.variant}
