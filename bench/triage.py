"""Police triage at the acceptance scale: 10,000 synthetic reports and 1M P2P observations.

Prints reports/s for each stage (intake, list matching, linking + priority, storing) and the whole
pipeline, pairwise precision/recall of the planted cases, and where the planted top distributors rank.
References in the same run: bare `json.loads` over the bundles, bare `csv.reader` over the log.

    .venv/bin/python bench/triage.py --reports 10000 --observations 1000000
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import OPERATOR, machine
from vigil.lists.domain import import_rows
from vigil.lists.formats.base import make_row
from vigil.match.matcher import Matcher
from vigil.sources.p2p.hosts import known_lookup, rank_hosts
from vigil.sources.p2p.observations import read_observations
from vigil.sources.triage import casebook
from vigil.sources.triage.intake import read_bundles
from vigil.sources.triage.ipinfo import load_ranges, shared_ranges
from vigil.sources.triage.linking import pair_scores
from vigil.sources.triage.pipeline import matcher_lookup, run_triage
from vigil.store.db import Store
from vigil.testing.synth.p2p import write_observations
from vigil.testing.synth.triage import generate_reports


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--observations", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = generate_reports(args.reports, seed=1)
        bundles = root / "bundles.jsonl"
        bundles.write_text("".join(json.dumps(b) + "\n" for b in data.bundles))
        (root / "geo.csv").write_text(data.geo_csv)
        (root / "shared.csv").write_text(data.shared_csv)
        store = Store(f"sqlite:///{root / 'vigil.db'}")
        import_rows(store, OPERATOR, "hotline", [make_row("bench", k, v, c) for k, v, c in data.known])
        n = len(data.bundles)
        print(f"# {n} reports ({len(set(data.truth))} planted cases), {machine()}")

        start = time.perf_counter()
        for line in bundles.read_bytes().splitlines():
            json.loads(line)
        t_json = time.perf_counter() - start
        start = time.perf_counter()
        intake = read_bundles([bundles])
        t_intake = time.perf_counter() - start
        geo, shared = load_ranges(root / "geo.csv"), shared_ranges(root / "shared.csv")
        start = time.perf_counter()
        casebook.import_reports(store, OPERATOR, intake.reports)
        reports, previous = casebook.load_reports(store)
        t_load = time.perf_counter() - start
        matcher = Matcher(store)
        start = time.perf_counter()
        result = run_triage(reports, matcher_lookup(matcher), geo=geo, shared=shared)
        t_triage = time.perf_counter() - start
        start = time.perf_counter()
        casebook.save_run(store, OPERATOR, reports, previous, result)
        t_store = time.perf_counter() - start + t_load
        case_of = result.linked.case_of()
        scores = pair_scores([case_of[i] for i in range(n)], data.truth)
        total = t_intake + t_triage + t_store
        print(f"bare json.loads          {n / t_json:>10,.0f} reports/s")
        print(f"intake (parse, validate) {n / t_intake:>10,.0f} reports/s")
        print(f"match + link + priority  {n / t_triage:>10,.0f} reports/s")
        print(f"store reports and cases  {n / t_store:>10,.0f} reports/s")
        print(f"whole triage             {n / total:>10,.0f} reports/s ({total:.1f} s)")
        print(
            f"planted cases: pairwise precision {scores.precision:.4f}, recall {scores.recall:.4f} "
            f"({scores.true_pairs} true pairs); {len(result.linked.duplicate_of)} duplicates merged"
        )

        log = root / "obs.csv"
        p2p = write_observations(log, args.observations, seed=1)
        start = time.perf_counter()
        with log.open(newline="") as handle:
            for _ in csv.reader(handle):
                pass
        t_csv = time.perf_counter() - start
        start = time.perf_counter()
        import_rows(
            store,
            OPERATOR,
            "p2p-known",
            [make_row("bench", "btih", h) for h in p2p.known_btih]
            + [make_row("bench", "sha1", h) for h in p2p.known_sha1],
        )
        ranking = rank_hosts(read_observations(log, []), known_lookup(store))
        t_rank = time.perf_counter() - start
        ranks = {h.key: i + 1 for i, h in enumerate(ranking.hosts)}
        planted_ranks = sorted(ranks[c] for c in p2p.planted)
        print(f"# {p2p.rows} P2P observations, {len(ranking.hosts)} hosts")
        print(f"bare csv.reader          {p2p.rows / t_csv:>10,.0f} observations/s")
        print(
            f"match + aggregate + rank {p2p.rows / t_rank:>10,.0f} observations/s ({t_rank:.1f} s, "
            f"{t_rank / t_csv:.1f}x the bare read)"
        )
        print(f"planted top distributors at ranks {planted_ranks} (expected 1..{len(p2p.planted)})")
        store.close()


if __name__ == "__main__":
    main()
