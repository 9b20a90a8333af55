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
class SyntheticLedger:
    transactions: list[Transaction]
    planted: set[str]
    remitters: set[str]


def generate(
    rows: int = 10_000, planted: int = 12, remitter_share: float = 0.05, seed: int = 0
) -> SyntheticLedger:
    rng = random.Random(seed)
    out: list[Transaction] = []
    counter = 0

    def add(
        sender: str, beneficiary: str, corridor: str, amount: float, time: datetime, channel: str, ref: str
    ) -> None:
        nonlocal counter
        counter += 1
        out.append(
            Transaction(
                f"t{counter}",
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
