"""Ledger throughput: read + all indicator rules, against the goal of 1M rows/min.

Writes a synthetic ledger (ordinary customers, family remitters, planted rings), then times reading it
and scoring every customer. The reference in the same run is a bare `csv.reader` pass over the file,
the floor any CSV-based screening pays.

    .venv/bin/python bench/finance.py --rows 1000000
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
from vigil.testing.synth.finance import generate

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


if __name__ == "__main__":
    main()
