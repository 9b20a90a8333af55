"""Transparency report: what was reviewed, from which source, with what outcome and error rate.

The false-positive rate is measured from human decisions: among decided items raised by a kind
of match, the share that reviewers rejected. Copies that inherited a decision (linked items) are
counted as `inherited`, not as decisions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from vigil.core.clock import utcnow
from vigil.core.states import ReviewStatus
from vigil.store.db import Store
from vigil.store.repo import review as repo

_EXACT = {"md5", "sha1", "sha256"}


def build(store: Store) -> dict[str, Any]:
    with store.session() as session:
        items = repo.all_items(session)
        list_names = repo.list_names_of_entries(session)
    outcome = Counter(item.status.value for item in items)
    by_source = Counter(item.source.value for item in items)
    by_category = Counter(
        f"{i.category_scheme}:{i.category}" for i in items if i.status == ReviewStatus.CONFIRMED
    )
    by_list: dict[str, Counter[str]] = defaultdict(Counter)
    decided_by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        matches = (item.reason or {}).get("matches", [])
        kinds = {_kind(m) for m in matches} or {"other"}
        for name in {list_names.get(m[2], "unknown") for m in matches}:
            by_list[name][item.status.value] += 1
        if item.status.decided and item.linked_to is None:  # human decisions only
            decided_by_kind["+".join(sorted(kinds))][item.status.value] += 1
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
        "inherited": sum(item.linked_to is not None and item.status.decided for item in items),
        "by_source": dict(by_source),
        "by_list": {name: dict(c) for name, c in sorted(by_list.items())},
        "confirmed_by_category": dict(by_category),
        "false_positives_by_match_kind": false_positive,
    }


def _kind(match: list[Any]) -> str:
    """Exact, or the hash type; a weak match apart (its false-positive rate is what tunes it)."""
    if match[0] in _EXACT:
        return "exact"
    return f"{match[0]}-weak" if len(match) > 4 and match[4] == "weak" else str(match[0])
