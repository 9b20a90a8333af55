"""Ledger throughput: read + all indicator rules, against the goal of 1M rows/min.

Writes a synthetic ledger (ordinary customers, family remitters, planted rings), then times reading it
and scoring every customer. The reference in the same run is a bare `csv.reader` pass over the file,
the floor any CSV-based screening pays.

    .venv/bin/python bench/finance.py --rows 1000000

Then flag rates on lawful look-alike populations (bench `lawful_population`: siblings' weekly
allowances, night-shift workers, students' top-ups, remitters, other corridors, travellers) beside
planted rings and the newer typologies, with the rules as they are and as they were (PH only, a
7-day cadence limit, every non-card channel).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine
from vigil.intel.finance.assess import assess
from vigil.intel.finance.ledger import read_ledger, write_ledger
from vigil.intel.finance.rules import FinanceConfig
from vigil.testing.synth.finance import LAWFUL_KINDS, generate, lawful_population, planted_variants

GOAL_ROWS_PER_S = 1_000_000 / 60


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    synthetic = generate(args.rows, planted=30, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.csv"
        write_ledger(path, synthetic.transactions)
        start = time.perf_counter()
        with path.open(newline="") as handle:
            bare = sum(1 for _ in csv.reader(handle))
        t_bare = time.perf_counter() - start
        start = time.perf_counter()
        ledger = read_ledger(path)
        t_read = time.perf_counter() - start
        start = time.perf_counter()
        results = assess(ledger.transactions)
        t_assess = time.perf_counter() - start
    rows = len(ledger.transactions)
    total = t_read + t_assess
    found = {a.customer for a in results if a.flagged()}
    print(f"# {rows} transactions, {len(results)} customers, {machine()}")
    print(f"bare csv.reader     {bare / t_bare:>12,.0f} rows/s")
    print(f"read_ledger         {rows / t_read:>12,.0f} rows/s")
    print(f"assess (all rules)  {rows / t_assess:>12,.0f} rows/s")
    print(f"read + assess       {rows / total:>12,.0f} rows/s = {rows / total * 60 / 1e6:.2f}M rows/min")
    print(f"ratio vs bare csv   {(bare / t_bare) / (rows / total):.2f}x slower")
    print(f"ratio vs goal       {(rows / total) / GOAL_ROWS_PER_S:.2f}x (goal 1M rows/min)")
    print(
        f"planted flagged     {len(found & synthetic.planted)}/{len(synthetic.planted)}, "
        f"others flagged {len(found - synthetic.planted)}"
    )


def lawful(seeds: tuple[int, ...] = (1, 2, 3)) -> None:
    before = FinanceConfig(
        high_risk_corridors=frozenset({"PH"}),
        max_median_gap_days=7.0,
        transfer_channels=frozenset({"remittance", "wallet", "wire", "p2p_app"}),
    )
    print(f"\n# lawful look-alikes and planted offenders, seeds {seeds}, flagged at 0.6")
    print(
        f"{'population':18} {'customers':>9} {'flagged now':>12} {'flagged before':>15} {'max score now':>14}"
    )
    counts: dict[str, list[int]] = {k: [0, 0, 0] for k in (*LAWFUL_KINDS, "planted")}
    top: dict[str, float] = dict.fromkeys(counts, 0.0)
    lowest_planted = 1.0
    for seed in seeds:
        base = generate(20_000, planted=30, seed=seed)
        people = lawful_population(1085, seed=seed)
        variants = planted_variants(30, seed=seed)
        rows = base.transactions + people.transactions + variants.transactions
        group = {**people.kind_of, **dict.fromkeys(base.planted | variants.planted, "planted")}
        for column, config in ((1, FinanceConfig()), (2, before)):
            for a in assess(rows, config):
                kind = group.get(a.customer)
                if kind is None:
                    continue
                counts[kind][0] += column == 1
                counts[kind][column] += a.flagged()
                if column == 1:
                    top[kind] = max(top[kind], a.score)
                    if kind == "planted":
                        lowest_planted = min(lowest_planted, a.score)
    for kind, (n, now, then) in counts.items():
        print(f"{kind:18} {n:>9} {now / n:>12.3f} {then / n:>15.3f} {top[kind]:>14.2f}")
    lawful_n = sum(counts[k][0] for k in LAWFUL_KINDS)
    print(
        f"all lawful         {lawful_n:>9} {sum(counts[k][1] for k in LAWFUL_KINDS) / lawful_n:>12.3f} "
        f"{sum(counts[k][2] for k in LAWFUL_KINDS) / lawful_n:>15.3f}"
    )
    print(f"lowest planted score now {lowest_planted:.2f} (threshold 0.60)")


if __name__ == "__main__":
    main()
    lawful()
