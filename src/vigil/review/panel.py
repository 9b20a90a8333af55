"""The context panel: everything a reviewer needs beside the preview, from recorded facts only.

Who uploaded it (uploader, account, IP events, country), the file (original name, size,
dimensions, type), every match with the lists that hold the hash (source, category, date added),
the distance and the variant that hit (which rotation or flip, which normalisation), classifier
scores with the model's identity, earlier decisions on the same SHA-256, and the item it repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vigil.media.decode import dimensions
from vigil.review.evidence import Vault
from vigil.store.db import Store
from vigil.store.models import ReviewItem, ScanItem
from vigil.store.repo import lists as lists_repo
from vigil.store.repo import review as repo
from vigil.store.repo.lists import Provenance


@dataclass(frozen=True)
class MatchLine:
    kind: str
    distance: int
    variant: str | None
    lists: tuple[Provenance, ...]
    tier: str | None  # exact | strong | weak; None for items queued before tiers were recorded
    verified: dict[str, Any] | None  # a weak match checked by keypoints: inliers and the verdict


@dataclass(frozen=True)
class Score:
    model: str
    version: str
    name: str
    score: float


@dataclass(frozen=True)
class Prior:
    item_id: int
    status: str
    category: str | None
    decided_at: datetime | None
    linked: bool


@dataclass(frozen=True)
class FileFacts:
    name: str | None
    size: int | None
    width: int | None
    height: int | None
    media_type: str | None
    available: bool


@dataclass(frozen=True)
class Panel:
    context: dict[str, Any]
    file: FileFacts
    matches: tuple[MatchLine, ...]
    scores: tuple[Score, ...]
    prior: tuple[Prior, ...]
    repeats: tuple[int, ...]  # items linked to this one (copies that were not shown again)


def build(store: Store, vault: Vault, item: ReviewItem) -> Panel:
    """Everything the panel shows, read in one session (the file itself from the vault)."""
    reason = item.reason or {}
    raw = [list(m) for m in reason.get("matches", [])]
    with store.session() as tx:
        variants = repo.match_variants(tx, item.scan_item_id) if item.scan_item_id is not None else {}
        names = lists_repo.provenance(tx, [m[2] for m in raw if m[2] is not None])
        prior = tuple(
            Prior(
                row.id,
                row.status.value,
                f"{row.category_scheme}:{row.category}" if row.category else None,
                row.decided_at,
                row.linked_to is not None,
            )
            for row in repo.with_hash(tx, item.sha256, item.id)
            if row.sha256
        )
        repeats = tuple(row.id for row in repo.linked(tx, item.id))
        scanned = tx.get(ScanItem, item.scan_item_id) if item.scan_item_id is not None else None
        scanned_size = scanned.size if scanned else None
    matches = tuple(
        MatchLine(
            str(m[0]),
            int(m[1]),
            (str(m[3]) if len(m) > 3 and m[3] else None) or variants.get((str(m[0]), m[2])),
            tuple(names.get(m[2], [])),
            str(m[4]) if len(m) > 4 and m[4] else None,
            m[5] if len(m) > 5 and isinstance(m[5], dict) else None,
        )
        for m in raw
    )
    scores = tuple(Score(str(a), str(b), str(c), float(d)) for a, b, c, d in reason.get("scores", []))
    facts = _facts(vault, item, reason)
    if not facts.available:  # the file is gone: the size the scan recorded
        facts = FileFacts(facts.name, scanned_size, None, None, facts.media_type, False)
    return Panel(dict(item.context or {}), facts, matches, scores, prior, repeats)


def _facts(vault: Vault, item: ReviewItem, reason: dict[str, Any]) -> FileFacts:
    """Size and dimensions are read from the file itself (header only for the dimensions)."""
    name = reason.get("name") or (item.path.rsplit("/", 1)[-1] if item.path else None)
    data = vault.content(item)
    if data is None:
        return FileFacts(name, None, None, None, item.media_type, False)
    width, height = dimensions(data) or (None, None)
    return FileFacts(name, len(data), width, height, item.media_type, True)


def shown_size(store: Store, vault: Vault, item_id: int, side: int) -> tuple[int, int]:
    """The size of the item's preview at `side` pixels (as `previews.render` draws it: fitted
    within a square, never enlarged), to turn a click on it into fractions of the picture."""
    with store.session() as tx:
        item = repo.item(tx, item_id)
    facts = _facts(vault, item, item.reason or {}) if item is not None else None
    if facts is None or not facts.width or not facts.height:
        return side, side
    scale = min(1.0, side / max(facts.width, facts.height))
    return max(1, round(facts.width * scale)), max(1, round(facts.height * scale))
