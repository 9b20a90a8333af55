"""Scale-out numbers: scan throughput with 1 and 2 Dask workers, and bulk list import time.

Hashing: all 500 BSDS500 photos through `dask_results` on a LocalCluster (one thread per worker),
in the same run for 1 and 2 workers. Import: N random MD5 entries into a fresh store, on SQLite
and (if given) PostgreSQL, staged and then published in one transaction. Beside each import the
script measures its floor on the same rows in the same run: a bare `executemany` into one uniquely
indexed SQLite table, and a bare `COPY` into one uniquely indexed PostgreSQL table.

    .venv/bin/python bench/scale.py --sizes 1000000 10000000 [--pg postgresql+psycopg://...]
    .venv/bin/python bench/scale.py --pg "$(scripts/postgres-start)"
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
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


def random_values(count: int) -> list[str]:
    blob = os.urandom(16 * count).hex()
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]


def fresh_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def import_seconds(url: str, values: list[str]) -> tuple[float, int]:
    if url.startswith("postgresql"):
        fresh_pg(url)
    store = Store(url)
    rows = (ListRow("md5", v, "1", "bench") for v in values)
    start = time.perf_counter()
    result = lists.import_rows(store, OPERATOR, "bench", rows)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, result.new_entries


def floor_seconds(url: str, values: list[str]) -> float:
    """The same rows into one uniquely indexed table, by the database's own bulk path."""
    rows = [("md5", v, "1", "bench") for v in values]
    if url.startswith("postgresql"):
        import psycopg

        fresh_pg(url)
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            conn.execute(
                "CREATE TABLE floor (hash_type varchar(16), value varchar(128), category text, origin text)"
            )
            conn.execute("CREATE UNIQUE INDEX floor_key ON floor (hash_type, value)")
            conn.commit()
            start = time.perf_counter()
            with conn.cursor().copy("COPY floor FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.commit()
            return time.perf_counter() - start
    path = url.removeprefix("sqlite:///")
    Path(path).unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE floor (hash_type TEXT, value TEXT, category TEXT, origin TEXT)")
        conn.execute("CREATE UNIQUE INDEX floor_key ON floor (hash_type, value)")
        start = time.perf_counter()
        conn.executemany("INSERT INTO floor VALUES (?, ?, ?, ?)", rows)
        conn.commit()
        return time.perf_counter() - start


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
            values = random_values(size)
            for name, url in targets:
                floor_url = f"sqlite:///{folder}/floor.db" if name == "sqlite" else url
                floor = floor_seconds(floor_url, values)
                if name == "sqlite":
                    Path(folder, "bench.db").unlink(missing_ok=True)
                seconds, new = import_seconds(url, values)
                bare = "executemany" if name == "sqlite" else "COPY"
                print(
                    f"import {size:>11,} MD5 entries into {name:10}: {seconds:7.1f} s "
                    f"({new / seconds:,.0f} rows/s); bare {bare} into one indexed table {floor:6.1f} s; "
                    f"ratio {seconds / floor:.2f}x (goal <= 2x)"
                )


if __name__ == "__main__":
    main()
