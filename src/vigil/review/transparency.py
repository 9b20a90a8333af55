"""Transparency report: what was reviewed, from which source, with what outcome and error rate.

The false-positive rate is measured from human decisions: among decided items raised by a kind
of match, the share that reviewers rejected.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select

from vigil.store.db import Store
from vigil.store.models import EntrySource, HashList, ReviewItem, utcnow

_EXACT = {"md5", "sha1", "sha256"}


def build(store: Store) -> dict[str, Any]:
    with store.session() as session:
        items = list(session.scalars(select(ReviewItem)))
        list_names = dict(
            session.execute(
                select(EntrySource.entry_id, HashList.name).join(HashList, HashList.id == EntrySource.list_id)
            ).all()
        )
    outcome = Counter(item.status for item in items)
    by_source = Counter(item.source for item in items)
    by_category = Counter(f"{i.category_scheme}:{i.category}" for i in items if i.status == "confirmed")
    by_list: dict[str, Counter[str]] = defaultdict(Counter)
    decided_by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        matches = (item.reason or {}).get("matches", [])
        kinds = {"exact" if m[0] in _EXACT else m[0] for m in matches} or {"other"}
        for name in {list_names.get(m[2], "unknown") for m in matches}:
            by_list[name][item.status] += 1
        if item.status in ("confirmed", "rejected"):
            decided_by_kind["+".join(sorted(kinds))][item.status] += 1
    false_positive = {
        kind: {
            "decided": sum(c.values()),
            "rejected": c["rejected"],
            "false_positive_rate": round(c["rejected"] / sum(c.values()), 4),
        }
        for kind, c in sorted(decided_by_kind.items())
    }
    return {
        "generated_at": utcnow().isoformat(),
        "items": len(items),
        "outcome": dict(outcome),
        "by_source": dict(by_source),
        "by_list": {name: dict(c) for name, c in sorted(by_list.items())},
        "confirmed_by_category": dict(by_category),
        "false_positives_by_match_kind": false_positive,
    }
