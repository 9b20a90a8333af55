"""Per-customer scores from rule hits, and a suspicious-transaction report draft for an analyst."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vigil.core import defaults
from vigil.intel.finance.ledger import Transaction
from vigil.intel.finance.rules import FINANCE_RULES, Context, FinanceConfig, Hit, Rule

DEFAULT_THRESHOLD = defaults.FINANCE_THRESHOLD


@dataclass(frozen=True)
class Assessment:
    customer: str
    score: float
    hits: tuple[Hit, ...]
    transactions: int
    total: float
    first: str
    last: str

    def flagged(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        return self.score >= threshold


def assess(
    transactions: Iterable[Transaction],
    config: FinanceConfig | None = None,
    rules: Sequence[Rule] | None = None,
) -> list[Assessment]:
    """Every sender, highest score first; the score is 1 - prod(1 - weight) over the rules that hit."""
    config = config or FinanceConfig()
    rules = list(rules) if rules is not None else [rule for _, rule in FINANCE_RULES]
    by_sender: dict[str, list[Transaction]] = defaultdict(list)
    payers_of: dict[str, set[str]] = defaultdict(set)
    risky, channels = config.high_risk_corridors, config.transfer_channels
    for t in transactions:
        by_sender[t.sender].append(t)
        if t.corridor in risky and t.channel in channels:
            payers_of[t.beneficiary].add(t.sender)
    ctx = Context(config, payers_of)
    out = []
    for sender, txs in by_sender.items():
        hits = tuple(h for h in (rule.apply(txs, ctx) for rule in rules) if h is not None)
        keep = 1.0
        for h in hits:
            keep *= 1.0 - h.weight
        times = [t.time for t in txs]
        out.append(
            Assessment(
                sender,
                1.0 - keep,
                hits,
                len(txs),
                sum(config.base(t) for t in txs),
                min(times).isoformat(),
                max(times).isoformat(),
            )
        )
    out.sort(key=lambda a: (-a.score, a.customer))
    return out


def str_draft(a: Assessment, by_id: dict[str, Transaction]) -> str:
    """A plain-text draft; an analyst completes, checks and files it, never this program."""
    lines = [
        "DRAFT SUSPICIOUS TRANSACTION REPORT - for analyst review, not filed",
        f"Subject (customer id): {a.customer}",
        f"Period: {a.first} to {a.last}; {a.transactions} transactions, total {a.total:,.2f}",
        f"Indicator score: {a.score:.2f} (prioritisation only)",
        "",
        "Indicators observed:",
    ]
    for h in a.hits:
        lines.append(f"  - {h.rule}: {h.detail}  [source: {h.source}]")
    lines += ["", "Transactions supporting the indicators:"]
    ids = sorted(
        {i for h in a.hits for i in h.transactions}, key=lambda i: by_id[i].time if i in by_id else i
    )
    for i in ids[:50]:
        t = by_id.get(i)
        if t:
            lines.append(
                f"  {t.time.isoformat()}  {t.id}  -> {t.beneficiary} ({t.corridor})  "
                f"{t.amount:,.2f} {t.currency}  {t.channel}  ref={t.reference!r}"
            )
    if len(ids) > 50:
        lines.append(f"  ... and {len(ids) - 50} more")
    lines += [
        "",
        "Grounds for suspicion (analyst to write): ...",
        "Lawful explanations considered (family support, students, shift work): ...",
    ]
    return "\n".join(lines) + "\n"
