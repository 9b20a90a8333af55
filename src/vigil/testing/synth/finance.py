"""A synthetic ledger with planted patterns, for tests and benchmarks (no real customer data).

Three populations: ordinary customers, family remitters to a high-risk corridor (the lawful look-alike
the rules must not flag) and planted rings paying shared beneficiaries in the way the sources describe.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.intel.finance.ledger import Transaction

START = datetime(2026, 1, 1)
DOMESTIC = ("NO", "SE", "GB", "DE", "US", "CA", "AU", "NL", "FR", "ES")


@dataclass
class _Builder:
    """Appends numbered USD transactions (`prefix` + a running number) to `out`."""

    out: list[Transaction]
    prefix: str
    counter: int = 0

    def add(
        self,
        sender: str,
        beneficiary: str,
        corridor: str,
        amount: float,
        time: datetime,
        channel: str,
        ref: str,
    ) -> None:
        self.counter += 1
        self.out.append(
            Transaction(
                f"{self.prefix}{self.counter}",
                sender,
                beneficiary,
                corridor,
                round(amount, 2),
                "USD",
                time.replace(microsecond=0),
                channel,
                ref,
            )
        )


@dataclass
class SyntheticLedger:
    transactions: list[Transaction]
    planted: set[str]
    remitters: set[str]


def generate(
    rows: int = 10_000, planted: int = 12, remitter_share: float = 0.05, seed: int = 0
) -> SyntheticLedger:
    rng = random.Random(seed)
    out: list[Transaction] = []
    add = _Builder(out, "t", 0).add

    rings = max(1, planted // 6)
    planted_ids = {f"p{i}" for i in range(planted)}
    for i in range(planted):
        sender, ring = f"p{i}", i % rings
        when = START + timedelta(days=rng.uniform(0, 20))
        n = rng.randint(14, 30)
        for k in range(n):
            beneficiary = f"ph-ring{ring}-{rng.randint(0, 1)}"
            night = when.replace(hour=rng.choice((22, 23, 0, 1)), minute=rng.randint(0, 59))
            amount = rng.uniform(15, 50) * (1 + 1.5 * k / n)
            add(
                sender,
                beneficiary,
                "PH",
                amount,
                night,
                "remittance",
                rng.choice(("school", "food", "load", "", "help")),
            )
            when += timedelta(days=rng.uniform(1, 4) * (1.4 - k / n))
        if rng.random() < 0.7:
            add(
                sender,
                "NordicVPN",
                "PA",
                11.99,
                START + timedelta(days=rng.uniform(0, 60)),
                "card",
                "vpn subscription",
            )
    remitters: set[str] = set()
    customer = 0
    while len(out) < rows:
        customer += 1
        sender = f"c{customer}"
        if rng.random() < remitter_share:
            remitters.add(sender)
            family = f"ph-family-{customer // 2}"  # siblings may share a parent's account
            day = rng.randint(1, 28)
            for month in range(1, 13):
                hour = rng.choice((8, 12, 19, 23, 2)) if rng.random() < 0.5 else rng.randint(7, 21)
                add(
                    sender,
                    family,
                    "PH",
                    rng.uniform(150, 600),
                    datetime(2026, month, day, hour, rng.randint(0, 59)),
                    "remittance",
                    rng.choice(("family support", "school", "allowance", "bills")),
                )
            continue
        for _ in range(rng.randint(10, 80)):
            when = START + timedelta(days=rng.uniform(0, 360), hours=rng.uniform(7, 22))
            corridor = rng.choice(DOMESTIC)
            channel = rng.choice(("card", "card", "wire", "wallet"))
            add(
                sender,
                f"m{rng.randint(0, 5000)}",
                corridor,
                rng.lognormvariate(3.5, 1.1),
                when.replace(microsecond=0),
                channel,
                rng.choice(("groceries", "rent", "invoice", "subscription", "fuel", "gift")),
            )
    return SyntheticLedger(out, planted_ids, remitters)


LAWFUL_KINDS = ("siblings", "night_shift", "students", "remitters", "other_corridors", "travellers")
# families per cycle of each kind; a sibling family has 2-6 senders, so siblings are about a fifth
LAWFUL_CYCLE = (
    "siblings",
    *("night_shift", "students", "remitters") * 3,
    *("other_corridors", "travellers") * 2,
)


@dataclass
class LawfulPopulation:
    transactions: list[Transaction]
    kind_of: dict[str, str]  # customer -> which lawful population it belongs to


def lawful_population(customers: int = 1085, seed: int = 0, start_id: int = 0) -> LawfulPopulation:
    """Lawful customers who look like the indicators (issue 22's look-alikes), for flag-rate benchmarks:

    * siblings, 2-6 of them, each sending a weekly allowance to one parent's account (a shared
      beneficiary on a weekly rhythm, with innocuous references);
    * night-shift workers sending home after their shift (23:00-02:00), weekly or fortnightly;
    * students sending small mobile top-ups ("load") home two to four times a week;
    * monthly family remitters to the Philippines, some at night;
    * remitters to the other corridors FINTRAC names (TH, CO, GH, UA, DO, RO, JM, RU);
    * people who travel to those countries and pay for flights and hotels there.
    """
    rng = random.Random(seed)
    out: list[Transaction] = []
    kind_of: dict[str, str] = {}
    add = _Builder(out, "l", start_id).add

    family = 0
    while len(kind_of) < customers:
        kind = LAWFUL_CYCLE[family % len(LAWFUL_CYCLE)]
        family += 1
        first = START + timedelta(days=rng.uniform(0, 14), hours=rng.uniform(8, 20))
        if kind == "siblings":
            parent = f"parent-{family}"
            for s in range(rng.randint(2, 6)):
                sender = f"sib{family}-{s}"
                kind_of[sender] = kind
                hour = rng.choice((9, 12, 18, 20, 23))
                for week in range(rng.randint(20, 52)):
                    when = (first + timedelta(weeks=week, hours=rng.uniform(-3, 3))).replace(hour=hour)
                    add(sender, parent, "PH", rng.uniform(20, 60), when, "remittance", "allowance")
            continue
        sender = f"{kind}-{family}"
        kind_of[sender] = kind
        if kind == "night_shift":
            step = rng.choice((7, 14))
            for k in range(rng.randint(12, 40)):
                when = first + timedelta(days=step * k + rng.uniform(0, 1.5))
                when = when.replace(hour=rng.choice((23, 0, 1)), minute=rng.randint(0, 59))
                relative = f"home-{family}-{rng.randint(0, 3)}"  # parents and siblings, by payment app
                channel = "p2p_app" if family % 2 else "remittance"
                add(sender, relative, "PH", rng.uniform(40, 250), when, channel, "family support")
        elif kind == "students":
            when = first
            for _ in range(rng.randint(30, 90)):
                when += timedelta(days=rng.uniform(1.5, 3.5))
                recipient = f"kin-{family}-{rng.randint(0, 2)}"
                add(
                    sender,
                    recipient,
                    "PH",
                    rng.uniform(5, 30),
                    when.replace(hour=rng.randint(9, 23)),
                    "wallet" if family % 2 else "remittance",  # some services book top-ups as remittances
                    "load",
                )
        elif kind == "remitters":
            for month in range(rng.randint(6, 12)):
                hour = rng.choice((22, 23, 8, 12, 19))
                when = first + timedelta(days=30 * month + rng.uniform(-2, 2))
                add(
                    sender,
                    f"mom-{family}",
                    "PH",
                    rng.uniform(150, 500),
                    when.replace(hour=hour),
                    "remittance",
                    "bills",
                )
        elif kind == "other_corridors":
            corridor = rng.choice(("TH", "CO", "GH", "UA", "DO", "RO", "JM", "RU"))
            for month in range(rng.randint(6, 12)):
                when = first + timedelta(days=30 * month + rng.uniform(-3, 3))
                add(sender, f"fam-{family}", corridor, rng.uniform(100, 400), when, "remittance", "support")
        else:  # travellers
            corridor = rng.choice(("PH", "TH", "CO", "DO"))
            for trip in range(rng.randint(1, 3)):
                when = first + timedelta(days=90 * trip)
                add(
                    sender,
                    f"airline-{rng.randint(0, 9)}",
                    corridor,
                    rng.uniform(400, 1200),
                    when,
                    "card",
                    "flight",
                )
                add(
                    sender,
                    f"hotel-{rng.randint(0, 99)}",
                    corridor,
                    rng.uniform(200, 900),
                    when + timedelta(days=10),
                    "card",
                    "hotel",
                )
                for day in range(rng.randint(3, 10)):
                    add(
                        sender,
                        f"shop-{rng.randint(0, 999)}",
                        corridor,
                        rng.uniform(5, 80),
                        when + timedelta(days=day, hours=rng.uniform(9, 22)),
                        "card",
                        "",
                    )
    return LawfulPopulation(out, kind_of)


def planted_variants(customers: int = 40, seed: int = 0) -> SyntheticLedger:
    """Planted offenders of the typologies the newer rules cover: payment apps to many people in a
    corridor with virtual-currency purchases, and travel to a corridor beside frequent small transfers
    and charges through third-party processors. Irregular, often at night, escalating."""
    rng = random.Random(seed)
    out: list[Transaction] = []
    planted: set[str] = set()
    add = _Builder(out, "v").add

    for i in range(customers):
        sender = f"pv{i}"
        planted.add(sender)
        corridor = rng.choice(("PH", "TH", "CO", "DO"))
        when = START + timedelta(days=rng.uniform(0, 30))
        n = rng.randint(12, 25)
        app = i % 2 == 0
        for k in range(n):
            night = when.replace(hour=rng.choice((21, 22, 23, 0, 1, 9)), minute=rng.randint(0, 59))
            person = f"{corridor.lower()}-p{i}-{rng.randint(0, 6)}"
            amount = rng.uniform(10, 45) * (1 + k / n)
            add(
                sender,
                person,
                corridor,
                amount,
                night,
                "p2p_app" if app else "remittance",
                rng.choice(("", "gift", "help")),
            )
            when += timedelta(days=rng.uniform(0.5, 3.5))
        if app:
            for _ in range(rng.randint(3, 6)):
                add(
                    sender,
                    rng.choice(("Coinbase", "Binance")),
                    "US",
                    rng.uniform(50, 200),
                    START + timedelta(days=rng.uniform(0, 90)),
                    "card",
                    "btc purchase",
                )
        else:
            trip = START + timedelta(days=rng.uniform(30, 90))
            add(sender, "Pacific Airways", corridor, rng.uniform(600, 1200), trip, "card", "flight")
            add(
                sender,
                f"hotel-{i}",
                corridor,
                rng.uniform(300, 900),
                trip + timedelta(days=12),
                "card",
                "hotel",
            )
            for _ in range(rng.randint(5, 9)):
                add(
                    sender,
                    rng.choice(("CCBILL.COM", "EPOCH *", "SEGPAY")),
                    "US",
                    rng.uniform(10, 40),
                    START + timedelta(days=rng.uniform(0, 90)),
                    "card",
                    "",
                )
    return SyntheticLedger(out, planted, set())
