"""Indicator rules from published financial-intelligence guidance, each hit citing its source.

Sources (public guidance; read them before tuning):
  AUSTRAC   - "Combating the sexual exploitation of children for financial gain", financial indicators (2019)
  FINTRAC   - Operational alert FINTRAC-2020-OA001 (Project Shadow): laundering of proceeds from online
              child sexual exploitation (2020)
  FinCEN    - Notice FIN-2021-NTC3 on online child sexual exploitation crimes (2021)
Every indicator also describes lawful behaviour (family remittances, siblings' allowances, students,
night-shift workers, travellers), so a single indicator is weighted low and only combinations reach
review. Thresholds keep off the calendar's rhythms: "frequent" means a median gap under 5 days, well
clear of the weekly, fortnightly and monthly rhythms of allowances and standing orders. Corridors,
thresholds, currency rates and the ledger's time zone are settings.
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


# Receiving countries each source names for these payments. FINTRAC's list is as quoted in issue 22
# from the operational alert; the unit sets its own with --corridor and drops its home country.
CORRIDORS_BY_SOURCE: dict[str, frozenset[str]] = {
    FINTRAC: frozenset({"PH", "TH", "CO", "US", "GH", "UA", "DO", "RO", "JM", "RU"}),
    AUSTRAC: frozenset({"PH"}),
    FINCEN: frozenset({"PH"}),
}
NAMED_CORRIDORS = frozenset().union(*CORRIDORS_BY_SOURCE.values())


def corridors(home: str | None = None) -> frozenset[str]:
    """Every corridor the sources name, less the ledger's own country (a US bank's domestic
    transfers are no corridor)."""
    return NAMED_CORRIDORS - {home.upper()} if home else NAMED_CORRIDORS


@dataclass(frozen=True)
class FinanceConfig:
    high_risk_corridors: frozenset[str] = NAMED_CORRIDORS
    low_value: float = 150.0  # in the ledger's base currency, after `rates`
    rates: dict[str, float] = field(default_factory=dict)  # currency -> base-currency factor
    min_transfers: int = 5
    max_median_gap_days: float = 5.0  # clearly more often than the weekly rhythm of allowances
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
    crypto_terms: tuple[str, ...] = (
        "bitcoin",
        "btc",
        "usdt",
        "tether",
        "crypto",
        "coinbase",
        "binance",
        "kraken",
        "bitstamp",
        "monero",
        "xmr",
    )
    # Channels that move money to a person (the sources' indicators are about remittances to
    # individuals); card purchases and payments to merchants are not the pattern. Name mobile-wallet
    # or wire channels here when the ledger uses them for person-to-person transfers.
    transfer_channels: frozenset[str] = frozenset({"remittance", "p2p_app"})
    p2p_app_channels: frozenset[str] = frozenset({"p2p_app"})  # GCash, PayPal, Venmo, Cash App...
    processor_terms: tuple[str, ...] = (
        "paypal *",
        "skrill",
        "neteller",
        "paysafecard",
        "epoch",
        "ccbill",
        "segpay",
        "verotel",
        "payza",
        "webmoney",
    )
    travel_terms: tuple[str, ...] = (
        "flight",
        "airline",
        "airways",
        "hotel",
        "resort",
        "hostel",
        "travel agency",
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
    risky, channels = ctx.config.high_risk_corridors, ctx.config.transfer_channels
    return [t for t in txs if t.corridor in risky and t.channel in channels]


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


def _matching(txs: list[Transaction], terms: tuple[str, ...]) -> list[Transaction]:
    return [t for t in txs if any(term in f"{t.beneficiary} {t.reference}".lower() for term in terms)]


def _crypto(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    """Virtual-currency purchases by a customer who also pays into a high-risk corridor."""
    bought = [t for t in txs if t.channel == "crypto"] or _matching(txs, ctx.config.crypto_terms)
    if len(bought) < 3 or not _corridor(txs, ctx):
        return None
    return f"{len(bought)} virtual-currency purchases beside high-risk-corridor transfers", bought


def _p2p_apps(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    """Low-value payment-app transfers to several different people in high-risk corridors."""
    apps = [
        t
        for t in _corridor(txs, ctx)
        if t.channel in ctx.config.p2p_app_channels and ctx.config.base(t) <= ctx.config.low_value
    ]
    people = {t.beneficiary for t in apps}
    if len(apps) < ctx.config.min_transfers or len(people) < 4:
        return None
    return f"{len(apps)} payment-app transfers to {len(people)} people in high-risk corridors", apps


def _processors(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    """Repeated small charges through third-party payment processors that front adult and live-cam sites."""
    charged = [
        t for t in _matching(txs, ctx.config.processor_terms) if ctx.config.base(t) <= ctx.config.low_value
    ]
    if len(charged) < ctx.config.min_transfers:
        return None
    return f"{len(charged)} small charges through third-party payment processors", charged


def _travel(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    """Travel to a high-risk country by someone who also sends it frequent low-value transfers."""
    risky = ctx.config.high_risk_corridors
    trips = [t for t in _matching(txs, ctx.config.travel_terms) if t.corridor in risky]
    if not trips:
        return None
    visited = {t.corridor for t in trips}
    sent = [
        t for t in _corridor(txs, ctx) if t.corridor in visited and ctx.config.base(t) <= ctx.config.low_value
    ]
    if len(sent) < ctx.config.min_transfers:
        return None
    return (
        f"travel to {', '.join(sorted(visited))} beside {len(sent)} low-value transfers there",
        trips + sent,
    )


def _purchases(txs: list[Transaction], ctx: Context) -> tuple[str, list[Transaction]] | None:
    bought = _matching(txs, ctx.config.purchase_terms)
    if not bought:
        return None
    return f"{len(bought)} purchase(s) of VPN, live-streaming or anonymising services", bought


for _rule in (
    Rule("frequent_low_value_high_risk", 0.35, f"{AUSTRAC}; {FINTRAC}", _frequent_low_value),
    Rule("many_senders_one_beneficiary", 0.35, AUSTRAC, _many_senders),
    Rule("innocuous_reference", 0.15, AUSTRAC, _innocuous),
    Rule("late_night_regularity", 0.25, f"{AUSTRAC}; {FINTRAC}", _night),
    Rule("escalation", 0.2, FINTRAC, _escalation),
    Rule("vpn_streaming_purchases", 0.2, f"{FINTRAC}; {FINCEN}", _purchases),
    Rule("virtual_currency_with_corridor", 0.15, f"{FINCEN}; {FINTRAC}", _crypto),
    Rule("payment_app_many_recipients", 0.25, f"{AUSTRAC}; {FINTRAC}", _p2p_apps),
    Rule("third_party_processor_charges", 0.15, FINCEN, _processors),
    Rule("travel_with_corridor_transfers", 0.2, f"{AUSTRAC}; {FINTRAC}", _travel),
):
    FINANCE_RULES.add(_rule.name, _rule)
