"""Police triage at the acceptance scale: 10,000 synthetic reports and 1M P2P observations (twice:
Vigil's own columns, and a DHT crawler's log with rotating peer ids and a query-only crawler).

Prints reports/s for each stage (intake, list matching, linking + priority, storing) and the whole
pipeline, pairwise precision/recall of the planted cases, and where the planted top distributors rank.
References in the same run: bare `json.loads` over the bundles, bare `csv.reader` over the log.

    .venv/bin/python bench/triage.py --reports 10000 --observations 1000000
    .venv/bin/python bench/triage.py --hard --seeds 1 2 3 4   # linking under real-data noise only

`--hard` generates the noise of issue 22 (carrier-NAT pool, memes, identifier variants with typos,
placeholders, repeated numeric ids across services, one service's naive UTC-8 times) and prints, per
seed, pairwise precision and recall with every guard on, recall once a person confirms the correct
suggested links, the largest false and true cases, and the same on the plain generator.
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
from vigil.sources.p2p.hosts import known_lookup, rank_log
from vigil.sources.p2p.profiles import PROFILES
from vigil.sources.triage import casebook
from vigil.sources.triage.intake import read_bundles
from vigil.sources.triage.ipinfo import load_ranges, shared_ranges
from vigil.sources.triage.linking import pair_scores
from vigil.sources.triage.pipeline import matcher_lookup, run_triage
from vigil.store.db import Store
from vigil.testing.synth.p2p import write_dht_log, write_observations
from vigil.testing.synth.triage import generate_reports


def _bare_csv(path: Path) -> float:
    start = time.perf_counter()
    with path.open(newline="") as handle:
        for _ in csv.reader(handle):
            pass
    return time.perf_counter() - start


def hard_linking(reports: int, seeds: list[int]) -> None:
    from collections import Counter
    from datetime import timedelta, timezone

    from vigil.sources.triage.linking import _Union, link_reports
    from vigil.testing.synth.triage import NAIVE_ESP

    print(f"# case linking on {reports} synthetic reports, {machine()}")
    heads = ("data", "seed", "precision", "recall", "+confirmed", "largest false", "largest true")
    print(" | ".join(heads) + " | suggested (correct) | shared IPs found | reports/s")
    for hard in (False, True):
        for seed in seeds:
            data = generate_reports(reports, seed=seed, hard=hard)
            with tempfile.TemporaryDirectory() as tmp:
                bundles = Path(tmp) / "bundles.jsonl"
                bundles.write_text("".join(json.dumps(b) + "\n" for b in data.bundles))
                (Path(tmp) / "shared.csv").write_text(data.shared_csv)
                start = time.perf_counter()
                intake = read_bundles([bundles], {NAIVE_ESP: timezone(timedelta(hours=-8))})
                linked = link_reports(intake.reports, shared_ranges(Path(tmp) / "shared.csv"))
                elapsed = time.perf_counter() - start
            case_of = linked.case_of()
            n = len(intake.reports)
            scores = pair_scores([case_of[i] for i in range(n)], data.truth)
            union = _Union(n)
            for case in linked.cases:
                for member in case[1:]:
                    union.union(case[0], member)
            correct = [s for s in linked.suggested if data.truth[s.a] == data.truth[s.b]]
            for s in correct:  # what a person confirming the suggestions would add
                union.union(s.a, s.b)
            confirmed = pair_scores([union.find(i) for i in range(n)], data.truth)
            false = [len(c) for c in linked.cases if len({data.truth[i] for i in c}) > 1]
            print(
                f"{'hard' if hard else 'plain'} | {seed} | {scores.precision:.4f} | {scores.recall:.4f} | "
                f"{confirmed.recall:.4f} | {max(false, default=0)} | {max(Counter(data.truth).values())} | "
                f"{len(linked.suggested)} ({len(correct)}) | {len(linked.shared_ips)} | {n / elapsed:,.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--hard", action="store_true", help="case linking under real-data noise only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    args = parser.parse_args()
    if args.hard:
        hard_linking(args.reports, args.seeds)
        return
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
        import_rows(
            store,
            OPERATOR,
            "p2p-known",
            [make_row("bench", "btih", h) for h in p2p.known_btih]
            + [make_row("bench", "sha1", h) for h in p2p.known_sha1],
        )
        t_csv = _bare_csv(log)
        start = time.perf_counter()
        ranking = rank_log(log, known_lookup(store))
        t_rank = time.perf_counter() - start
        ranks = {h.key: i + 1 for i, h in enumerate(ranking.hosts)}
        planted_ranks = sorted(ranks[c] for c in p2p.planted)
        print(f"# {p2p.rows} P2P observations (Vigil's columns, ISO times), {len(ranking.hosts)} hosts")
        print(f"bare csv.reader          {p2p.rows / t_csv:>10,.0f} observations/s")
        print(
            f"read, check, match, rank {p2p.rows / t_rank:>10,.0f} observations/s ({t_rank:.1f} s, "
            f"{t_rank / t_csv:.1f}x the bare read)"
        )
        print(f"planted top distributors at ranks {planted_ranks} (expected 1..{len(p2p.planted)})")

        dht_log = root / "dht.csv"
        dht = write_dht_log(dht_log, args.observations, seed=1)
        import_rows(store, OPERATOR, "dht-known", [make_row("bench", "btih", h) for h in dht.known_btih])
        t_csv = _bare_csv(dht_log)
        start = time.perf_counter()
        ranking = rank_log(dht_log, known_lookup(store), PROFILES.get("dht"))
        t_rank = time.perf_counter() - start
        top = [h.key for h in ranking.hosts[: len(dht.planted)]]
        print(f"# {dht.rows} DHT-crawler rows (epoch times, hex/base32/magnet info-hashes), profile dht")
        print(f"bare csv.reader          {dht.rows / t_csv:>10,.0f} rows/s")
        print(
            f"read, check, match, rank {dht.rows / t_rank:>10,.0f} rows/s ({t_rank:.1f} s, "
            f"{t_rank / t_csv:.1f}x the bare read)"
        )
        print(
            f"planted distributors top {len(dht.planted)}: {top == dht.planted}; peer ids stitched "
            f"{len(ranking.stitched)}; crawler ranked: {dht.crawler in {h.key for h in ranking.hosts}}; "
            f"query-only hosts "
            f"{len(ranking.query_only)}; rows refused {len(ranking.problems)} (junk planted {dht.junk_rows})"
        )
        store.close()


if __name__ == "__main__":
    main()
