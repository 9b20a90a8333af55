"""Scale-out numbers: scan throughput with 1 and 2 Dask workers, and bulk list import time.

Hashing: all 500 BSDS500 photos through `dask_results` on a LocalCluster (one thread per worker),
in the same run for 1 and 2 workers. Import: N random MD5 entries into a fresh store, on SQLite
and (if given) PostgreSQL, where Vigil uses COPY into a staging table.

    .venv/bin/python bench/scale.py --sizes 1000000 10000000 [--pg postgresql+psycopg://...]
    .venv/bin/python bench/scale.py --pg "$(scripts/postgres-start)"
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _common import OPERATOR, bsds_images, machine
from vigil.lists import domain as lists
from vigil.lists.formats import ListRow
from vigil.media.walk import ItemRef
from vigil.signals.items import HashSettings
from vigil.sources.scan.cluster import dask_results
from vigil.store.db import Store


def hashing(workers: int) -> float:
    from distributed import LocalCluster

    refs = [ItemRef.of(p) for p in bsds_images()]
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=40
    ) as cluster:
        list(dask_results(cluster.scheduler_address, refs[:32], HashSettings()))  # warm the workers
        start = time.perf_counter()
        count = sum(1 for _ in dask_results(cluster.scheduler_address, refs, HashSettings()))
        return count / (time.perf_counter() - start)


def random_rows(count: int) -> Iterator[ListRow]:
    for start in range(0, count, 100_000):
        blob = os.urandom(16 * min(100_000, count - start)).hex()
        for i in range(0, len(blob), 32):
            yield ListRow("md5", blob[i : i + 32], "1", "bench")


def import_seconds(url: str, size: int) -> tuple[float, int]:
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    store = Store(url)
    start = time.perf_counter()
    result = lists.import_rows(store, OPERATOR, "bench", random_rows(size))
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, result.new_entries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--pg", help="PostgreSQL URL for the import measurement")
    parser.add_argument("--skip-hashing", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true", help="measure the import on PostgreSQL only")
    args = parser.parse_args()
    print(f"# Vigil scale-out, {machine()}")
    if not args.skip_hashing:
        one, two = hashing(1), hashing(2)
        print(
            f"Dask LocalCluster hashing, 500 BSDS500 JPEGs: 1 worker {one:.0f} img/s, "
            f"2 workers {two:.0f} img/s ({two / one:.2f}x)"
        )
    with tempfile.TemporaryDirectory() as folder:
        targets = [] if args.no_sqlite else [("sqlite", f"sqlite:///{folder}/bench.db")]
        targets += [("postgresql", args.pg)] if args.pg else []
        for size in args.sizes:
            for name, url in targets:
                if name == "sqlite":
                    Path(folder, "bench.db").unlink(missing_ok=True)
                seconds, new = import_seconds(url, size)
                print(
                    f"import {size:>11,} MD5 entries into {name:10}: {seconds:7.1f} s "
                    f"({new / seconds:,.0f} rows/s)"
                )


if __name__ == "__main__":
    main()
