"""Indicator rules from published financial-intelligence guidance, each hit citing its source.

Sources (public guidance; read them before tuning):
  AUSTRAC   - "Combating the sexual exploitation of children for financial gain", financial indicators (2019)
  FINTRAC   - Operational alert "Project Shadow": proceeds of online child sexual exploitation (2020)
  FinCEN    - Notice FIN-2021-NTC3 on online child sexual exploitation crimes (2021)
Every indicator also describes lawful behaviour (family remittances, students, night-shift workers), so a
single indicator is weighted low and only combinations reach review. Corridors and thresholds are settings.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from vigil.core.registry import Registry
from vigil.intel.finance.ledger import Transaction

AUSTRAC = "AUSTRAC 2019 child-exploitation financial indicators"
FINTRAC = "FINTRAC Operational Alert: Project Shadow (2020)"
FINCEN = "FinCEN Notice FIN-2021-NTC3 (2021)"


@dataclass(frozen=True)
class FinanceConfig:
    high_risk_corridors: frozenset[str] = frozenset({"PH"})  # the corridor all three sources name
    low_value: float = 150.0  # in the ledger's base currency, after `rates`
    rates: dict[str, float] = field(default_factory=dict)  # currency -> base-currency factor
    min_transfers: int = 5
    max_median_gap_days: float = 7.0
    night_hours: tuple[int, int] = (22, 5)  # inclusive start, exclusive end, in the ledger's clock
    many_senders: int = 5
    innocuous_terms: frozenset[str] = frozenset(
        {
            "school",
            "tuition",
            "food",
            "groceries",
            "medicine",
            "allowance",
            "gift",
            "help",
            "load",
            "bills",
            "support",
            "snacks",
            "milk",
            "",
            "-",
            "n/a",
        }
    )
    purchase_terms: tuple[str, ...] = (
        "vpn",
        "live stream",
        "livestream",
        "webcam",
        "cam site",
        "proxy",
        "prepaid card",
        "anonymous",
    )

    def base(self, t: Transaction) -> float:
        return t.amount * self.rates.get(t.currency.upper(), 1.0)


@dataclass(frozen=True)
class Hit:
    rule: str
    weight: float
    source: str
    detail: str
    transactions: tuple[str, ...]


@dataclass(frozen=True)
class Context:
    config: FinanceConfig
    payers_of: dict[str, set[str]]  # beneficiary -> distinct senders, over the whole ledger


@dataclass(frozen=True)
class Rule:
    name: str
    weight: float
    source: str
    check: Callable[[list[Transaction], Context], tuple[str, list[Transaction]] | None]

    def apply(self, txs: list[Transaction], ctx: Context) -> Hit | None:
        found = self.check(txs, ctx)
        if found is None:
            return None
        detail, evidence = found
        return Hit(self.name, self.weight, self.source, detail, tuple(t.id for t in evidence))


FINANCE_RULES: Registry[Rule] = Registry("finance rule")


def _corridor(txs: list[Transaction], ctx: Context) -> list[Transaction]:
    risky = ctx.config.high_risk_corridors
    return [t for t in txs if t.corridor in risky and t.channel != "card"]


def _frequent_low_value(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    low = sorted(
        (t for t in _corridor(txs, ctx) if ctx.config.base(t) <= ctx.config.low_value), key=lambda t: t.time
    )
    if len(low) < ctx.config.min_transfers:
        return None
    gaps = [(b.time - a.time).total_seconds() / 86400 for a, b in itertools.pairwise(low)]
    median_gap = statistics.median(gaps)
    if median_gap > ctx.config.max_median_gap_days:
        return None
    return (
        f"{len(low)} transfers <= {ctx.config.low_value:g} to high-risk corridors, "
        f"median gap {median_gap:.1f} days",
        low,
    )


def _many_senders(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    shared = [
        t for t in _corridor(txs, ctx) if len(ctx.payers_of.get(t.beneficiary, ())) >= ctx.config.many_senders
    ]
    if not shared:
        return None
    most = max(len(ctx.payers_of[t.beneficiary]) for t in shared)
    return (
        f"pays {len({t.beneficiary for t in shared})} beneficiary(ies) with up to {most} distinct payers",
        shared,
    )


def _innocuous(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    risky = _corridor(txs, ctx)
    labelled = [t for t in risky if t.reference.strip().lower() in ctx.config.innocuous_terms]
    if len(risky) < ctx.config.min_transfers or len(labelled) * 2 < len(risky):
        return None
    return (
        f"{len(labelled)}/{len(risky)} high-risk-corridor transfers carry a generic or empty reference",
        labelled,
    )


def _night(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    start, end = ctx.config.night_hours
    risky = _corridor(txs, ctx)
    night = [t for t in risky if (t.time.hour >= start or t.time.hour < end)]
    if len(night) < ctx.config.min_transfers or len(night) * 10 < len(risky) * 6:
        return None
    return f"{len(night)}/{len(risky)} high-risk-corridor transfers between {start}:00 and {end}:00", night


def _span_seconds(part: list[Transaction]) -> float:
    return max((part[-1].time - part[0].time).total_seconds(), 86400.0)


def _escalation(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    risky = sorted(_corridor(txs, ctx), key=lambda t: t.time)
    if len(risky) < 2 * ctx.config.min_transfers:
        return None
    half = len(risky) // 2
    first, second = risky[:half], risky[half:]
    rate_up = (len(second) / _span_seconds(second)) >= 2 * (len(first) / _span_seconds(first))
    amount_up = statistics.fmean(ctx.config.base(t) for t in second) >= 1.5 * statistics.fmean(
        ctx.config.base(t) for t in first
    )
    if not (rate_up or amount_up):
        return None
    what = " and ".join(w for w, up in (("frequency", rate_up), ("amounts", amount_up)) if up)
    return f"{what} rising across {len(risky)} high-risk-corridor transfers", second


def _purchases(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    terms = ctx.config.purchase_terms
    bought = [t for t in txs if any(term in f"{t.beneficiary} {t.reference}".lower() for term in terms)]
    if not bought:
        return None
    return f"{len(bought)} purchase(s) of VPN, live-streaming or anonymising services", bought


for _rule in (
    Rule("frequent_low_value_high_risk", 0.35, f"{AUSTRAC}; {FINTRAC}", _frequent_low_value),
    Rule("many_senders_one_beneficiary", 0.35, FINTRAC, _many_senders),
    Rule("innocuous_reference", 0.15, AUSTRAC, _innocuous),
    Rule("late_night_regularity", 0.25, f"{AUSTRAC}; {FINTRAC}", _night),
    Rule("escalation", 0.2, FINTRAC, _escalation),
    Rule("vpn_streaming_purchases", 0.2, f"{FINTRAC}; {FINCEN}", _purchases),
):
    FINANCE_RULES.add(_rule.name, _rule)
