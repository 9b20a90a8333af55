"""Check weak PDQ matches against the known picture's keypoints, where Vigil kept them.

A weak match says "this could be a crop or an edit of a known picture, or a look-alike". When the
known picture came from `vigil lists add-files`, its ORB keypoints are in the store, and the query
picture's keypoints settle most cases (`vigil.signals.features`): the verdict is written into the
match (`detail.verified`: inliers and `confirmed`, `rejected` or `inconclusive`). It only orders
review, like the weak tier itself: a confirmed weak match is reviewed before an unchecked one, a
rejected one after, and none of them is ever dropped or acted on without a reviewer.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vigil.match.matcher import PDQ, ItemMatches, Match
from vigil.match.tiers import Tier
from vigil.media import decode as media
from vigil.signals import features, pdq
from vigil.signals.regions import work_copy
from vigil.store.db import Store
from vigil.store.repo import lists

CONFIRM = 25  # inliers at or above: the same scene (1,000 unrelated BSDS500 pairs: at most 16)
REJECT = 10  # below: no sign of it (99% of unrelated pairs keep 7 or fewer; a screenshot, 6 at worst)


def _checkable(match: Match) -> bool:
    return match.tier == Tier.WEAK and match.hash_type == PDQ.name


def _reflected(match: Match) -> bool:
    """Whether the hit pairs a mirrored picture with an unmirrored one (ORB copes with turns, not
    with mirrors): a flipped query variant, or the known picture's flipped hash, but not both."""
    query_flipped = (match.variant or "").startswith("flip")
    known_flipped = str((match.detail or {}).get("known_region", "")).startswith("d-f")
    return query_flipped != known_flipped


def check(store: Store, result: ItemMatches, data: bytes) -> int:
    """Verdicts for the weak PDQ matches of one picture (its file's `data`) whose known picture has
    keypoints; returns how many were checked. A picture that cannot be decoded is left unchecked."""
    weak = {m.entry_id for m in result.matches if _checkable(m)}
    if not weak:
        return 0
    with store.session() as tx:
        stored = lists.features(tx, weak)
    if not stored:
        return 0
    try:
        gray = work_copy(pdq.gray8(media.decode(data, "fast")))
    except (media.NotAnImage, media.CorruptImage):
        return 0
    views: dict[bool, features.Features] = {}
    checked, out = 0, []
    for match in result.matches:
        if _checkable(match) and match.entry_id in stored:
            mirror = _reflected(match)
            if mirror not in views:
                views[mirror] = features.orb(np.ascontiguousarray(gray[:, ::-1]) if mirror else gray)
            found = features.inliers(views[mirror], features.Features.from_bytes(*stored[match.entry_id]))
            verdict = "confirmed" if found >= CONFIRM else "rejected" if found < REJECT else "inconclusive"
            verified = {"inliers": found, "result": verdict}
            match = replace(match, detail={**(match.detail or {}), "verified": verified})
            checked += 1
        out.append(match)
    result.matches = out
    return checked
