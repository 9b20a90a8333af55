"""Peak memory of a whole scan (the `vigil scan` process and its workers) on large and hostile inputs.

Each case is built in a temporary folder, then scanned by `vigil scan` as a subprocess while this
script samples the resident memory of its whole process tree every 20 ms. Cases: a zip of 4 x 1 GiB
of zeros (with the default bomb limits, and with the ratio limit lifted so every byte is inflated), a
2.5 GB file, a 1 GiB tar, and a zip of 3,000 photos beside the same 3,000 photos in a folder (time
ratio, goal <= 1.5x). Goal: peak RSS under 1 GiB for each.

    .venv/bin/python bench/hostile.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import bsds_images, machine

GiB = 1 << 30
MiB = 1 << 20


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(c) for c in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def scan(path: Path, work: Path, *extra: str) -> tuple[float, int, str]:
    """Seconds, peak RSS of the process tree, and the last lines of output."""
    db = work / f"scan-{time.monotonic_ns()}.db"
    argv = [sys.executable, "-m", "vigil.interfaces.cli.main", "scan", str(path), "--db", f"sqlite:///{db}"]
    argv += ["--review-votes", "0", "--report-dir", str(work / "report"), "--workers", "2", *extra]
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    output = (process.stdout.read() if process.stdout else "").strip().splitlines()
    if process.returncode != 0:
        raise SystemExit(f"scan of {path} failed:\n" + "\n".join(output[-20:]))
    return elapsed, peak, output[-1] if output else ""


def zeros_zip(path: Path) -> None:
    chunk = b"\0" * (64 * MiB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for n in range(4):
            with archive.open(f"zeros-{n}.bin", "w", force_zip64=True) as member:
                for _ in range(GiB // len(chunk)):
                    member.write(chunk)


def big_file(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)


def big_tar(path: Path) -> None:
    block = os.urandom(MiB)
    with tarfile.open(path, "w") as archive:
        for n in range(4):
            source = path.with_name(f"part-{n}.bin")
            with open(source, "wb") as handle:
                for _ in range(256):
                    handle.write(block)
            archive.add(source, arcname=f"part-{n}.bin")
            source.unlink()


def photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    images = bsds_images()
    out = []
    for n in range(count):
        target = folder / f"{n:05d}-{images[n % len(images)].name}"
        shutil.copyfile(images[n % len(images)], target)
        out.append(target)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="build the cases here and keep them")
    args = parser.parse_args()
    print(f"# Vigil hostile-input memory, {machine()}")
    with tempfile.TemporaryDirectory(dir=args.keep) as name:
        work = Path(name)
        rows = []
        zeros = work / "zeros.zip"
        zeros_zip(zeros)
        rows.append(("zip of 4 x 1 GiB zeros (default limits: bomb)", *scan(zeros, work)))
        rows.append(("zip of 4 x 1 GiB zeros (ratio limit lifted)", *scan(zeros, work, "--max-ratio", "1e9")))
        zeros.unlink()
        large = work / "large.bin"
        big_file(large, int(2.5e9))
        rows.append(("2.5 GB file", *scan(large, work)))
        large.unlink()
        tar = work / "big.tar"
        big_tar(tar)
        rows.append(("1 GiB tar (4 members)", *scan(tar, work)))
        tar.unlink()
        folder = work / "photos"
        files = photos(folder, 3000)
        bundle = work / "photos.zip"
        with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.name)
        as_folder = scan(folder, work)
        as_zip = scan(bundle, work)
        rows.append(("3,000 photos in a folder", *as_folder))
        rows.append(("the same 3,000 photos in a zip", *as_zip))
        width = max(len(r[0]) for r in rows)
        for label, seconds, peak, _output in rows:
            verdict = "ok" if peak < GiB else "OVER 1 GiB"
            print(f"{label:{width}}  {seconds:7.1f} s  peak RSS {peak / MiB:7.0f} MiB  {verdict}")
        ratio = as_zip[0] / as_folder[0]
        print(f"zip / folder time for 3,000 photos: {ratio:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
