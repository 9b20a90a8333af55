"""Matching API under load: `vigil serve` with several workers sharing one memory-mapped index.

Builds a store with N random PDQ entries, starts `vigil serve --workers W` on loopback, and drives
`POST /v1/match/hash` from C concurrent client threads (half the queries are near-duplicates of
listed entries) for T seconds. Prints throughput and latency percentiles, p99 included.

Then, one client at a time, p50/p99 of `/v1/match/hash` idle and while U clients keep uploading
7000x7000 PNGs (49 MP, under the 50 MP limit) to `/v1/match/media`, beside the same two numbers for a
bare FastAPI endpoint served on the same machine in the same run (the reference: what the machine's
load alone does to any endpoint).

    .venv/bin/python bench/service.py --entries 1000000 --workers 2 --clients 8 --seconds 20 --uploads 3
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import OPERATOR, machine
from vigil.lists import domain as lists
from vigil.lists.formats import ListRow
from vigil.review.keys import create_key
from vigil.store.db import Store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--uploads", type=int, default=3, help="concurrent media uploaders (0: skip)")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (args.entries, 32), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        store = Store(url)
        lists.import_rows(store, OPERATOR, "bench", (ListRow("pdq", c.tobytes().hex()) for c in codes))
        key = create_key(store, OPERATOR, "bench", "submitter")
        port = free_port()
        env = dict(os.environ, VIGIL_DB=url)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vigil.interfaces.cli.main",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--index-dir",
                f"{folder}/index",
                "--evidence-dir",
                f"{folder}/evidence",
                "--key-file",
                f"{folder}/keys/evidence.key",
                "--rate",
                "0",
            ],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 600
            while True:
                try:
                    httpx.get(f"{base}/status", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("server did not start") from None
                    time.sleep(0.5)
            latencies: list[float] = []
            matched = [0]
            lock = threading.Lock()
            stop = time.monotonic() + args.seconds

            def client(seed: int) -> None:
                local = np.random.default_rng(seed)
                with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as http:
                    while time.monotonic() < stop:
                        code = (
                            codes[local.integers(len(codes))].copy()
                            if local.random() < 0.5
                            else local.integers(0, 256, 32, dtype=np.uint8)
                        )
                        code[local.integers(32)] ^= np.uint8(local.integers(1, 256))
                        body = {"hashes": [{"type": "pdq", "value": code.tobytes().hex()}]}
                        start = time.perf_counter()
                        reply = http.post("/v1/match/hash", json=body)
                        elapsed = time.perf_counter() - start
                        with lock:
                            latencies.append(elapsed)
                            matched[0] += bool(reply.json()["matches"])

            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            loaded = under_uploads(base, key, folder, args.uploads) if args.uploads else None
        finally:
            server.terminate()
            server.wait(timeout=30)
    ms = np.array(latencies) * 1000
    print(f"# /v1/match/hash under load, {machine()}")
    print(
        f"{args.entries:,} PDQ entries, {args.workers} workers (shared mmap index), {args.clients} clients, "
        f"{args.seconds:.0f} s"
    )
    print(
        f"requests {len(ms):,}  throughput {len(ms) / args.seconds:,.0f} req/s  "
        f"matched {matched[0] / len(ms):.2f}"
    )
    print("latency ms  " + "  ".join(f"p{p} {np.percentile(ms, p):.2f}" for p in (50, 90, 99, 99.9)))
    if loaded:
        print(f"\n# one client at a time, idle and under {args.uploads} concurrent 49 MP uploads (ms)")
        heads = ("idle p50", "idle p99", "load p50", "load p99", "p99 ratio")
        print(f"{'endpoint':28} " + " ".join(f"{h:>9}" for h in heads))
        for name, (idle, busy) in loaded.items():
            ratio = np.percentile(busy, 99) / np.percentile(idle, 99)
            print(
                f"{name:28} {np.percentile(idle, 50):9.2f} {np.percentile(idle, 99):9.2f} "
                f"{np.percentile(busy, 50):9.2f} {np.percentile(busy, 99):9.2f} {ratio:8.1f}x"
            )


BARE = """from fastapi import FastAPI
app = FastAPI()


@app.post("/bare")
def bare(body: dict) -> dict:
    return {"matches": []}
"""


def _sequential(url: str, headers: dict[str, str], body: dict[str, object], n: int = 300) -> list[float]:
    out = []
    with httpx.Client(headers=headers, timeout=60) as http:
        for _ in range(n):
            start = time.perf_counter()
            http.post(url, json=body).raise_for_status()
            out.append((time.perf_counter() - start) * 1000)
    return out


def under_uploads(
    base: str, key: str, folder: str, uploads: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Latencies idle and while `uploads` clients post big PNGs, for Vigil and a bare endpoint."""
    import io

    from PIL import Image

    Path(folder, "bare_app.py").write_text(BARE)
    port = free_port()
    bare = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    buffer = io.BytesIO()
    Image.new("L", (7000, 7000), 128).save(buffer, "PNG")
    heavy = buffer.getvalue()
    query = {"hashes": [{"type": "md5", "value": "0" * 32}]}
    targets = {
        "vigil /v1/match/hash": (f"{base}/v1/match/hash", {"X-API-Key": key}),
        "bare FastAPI endpoint": (f"http://127.0.0.1:{port}/bare", {}),
    }
    try:
        for _ in range(100):
            try:
                httpx.post(targets["bare FastAPI endpoint"][0], json=query, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        idle = {name: _sequential(url, headers, query) for name, (url, headers) in targets.items()}
        stop = threading.Event()

        def upload() -> None:
            with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=300) as http:
                while not stop.is_set():
                    http.post("/v1/match/media", files={"file": ("big.png", heavy)})

        uploaders = [threading.Thread(target=upload) for _ in range(uploads)]
        for thread in uploaders:
            thread.start()
        time.sleep(1.0)
        busy = {name: _sequential(url, headers, query) for name, (url, headers) in targets.items()}
        stop.set()
        for thread in uploaders:
            thread.join()
    finally:
        bare.terminate()
        bare.wait(timeout=30)
    return {name: (idle[name], busy[name]) for name in targets}


if __name__ == "__main__":
    main()
