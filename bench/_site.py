"""A real static server (nginx) over a directory, a process-tree RSS sampler and a Scrapy reference
crawl, for `bench/crawl.py --site DIR` (not part of the package)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

NGINX_CONF = """
daemon off;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log error;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
        disable_symlinks off;
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nginx:
    """nginx in the foreground on a loopback port, serving `root` as-is."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise SystemExit("nginx is needed: apt-get install nginx-light")
        self.root, self.binary, self.port = root.resolve(), binary, free_port()
        self.tmp = tempfile.mkdtemp(prefix="vigil-nginx-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Nginx:
        conf = Path(self.tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=self.tmp, port=self.port, root=self.root))
        self.process = subprocess.Popen([self.binary, "-c", str(conf), "-p", self.tmp])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"nginx did not start; see {self.tmp}/error.log")

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _memory(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over processes. Forked children share their parent's pages, which
    RSS counts once per process; PSS shares each page out among the processes mapping it."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return rss, pss


@dataclass
class Measured:
    seconds: float
    peak_rss: int  # the largest sum of RSS over the process tree seen
    peak_pss: int  # the largest sum of PSS
    stdout: str
    cpu_seconds: float = 0.0  # user + system time over the tree (each process as last seen)


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def run_measured(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a command, sampling its process tree's memory every 50 ms."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    peak_rss = peak_pss = 0
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        while not done.is_set():
            tree = _tree(process.pid)
            rss, pss = _memory(tree)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            for pid in tree:
                cpu[pid] = max(cpu.get(pid, 0.0), _cpu(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{command[:3]} failed with {process.returncode}")
    return Measured(time.perf_counter() - started, peak_rss, peak_pss, out.decode(), sum(cpu.values()))


def _shared_libraries() -> list[Path]:
    """The compiled libraries of this Python environment and of the Python it is built on."""
    roots = {Path(sys.prefix), Path(sys.base_prefix)}
    return [
        path
        for root in roots
        for path in root.rglob("*.so*")
        if path.is_file() and (path.suffix == ".so" or ".so." in path.name)
    ]


# What each crawler imports, loaded once after the eviction below so that both start warm.
WARM_IMPORTS = (
    "import numpy, cv2, PIL.Image, sqlalchemy.orm, aiohttp, selectolax.lexbor, typer;"
    "import scrapy.crawler, lxml.html, twisted.internet.reactor"
)


def compile_project() -> None:
    """Write Vigil's bytecode as pip does for an installed package (Scrapy's is): an editable
    checkout run with PYTHONDONTWRITEBYTECODE set compiles every module in every process, 0.1 s
    each."""
    import compileall

    import vigil

    compileall.compile_dir(str(Path(vigil.__file__).parent), quiet=1)


def settle_libraries() -> None:
    """Give both crawlers the page cache of a machine that has been running a while: this
    environment's shared libraries dropped from the cache, then mapped back in by one import of
    what each crawler loads. A library that was just written or read whole (by `pip install`, a
    copy, a backup) sits in the cache in large folios, and a process that maps it is charged the
    whole folio around each page it touches: right after `pip install`, importing OpenCV costs 22.5
    MiB of RSS instead of 6.4, and the crawl measured 236-237 MiB against 201 in one session, Scrapy
    142-144 against 137."""
    for path in _shared_libraries():
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    subprocess.run([sys.executable, "-c", WARM_IMPORTS], check=True, capture_output=True)


SPIDER = Path(__file__).with_name("_scrapy_site.py")


def scrapy_crawl(seed: str, concurrency: int, out: Path) -> Measured:
    """Scrapy over the same site (pages and every image fetched once); the pairs land in `out`."""
    return run_measured([sys.executable, str(SPIDER), seed, str(concurrency), str(out)])


def load_pairs(path: Path) -> tuple[set[str], set[tuple[str, str]]]:
    data = json.loads(path.read_text())
    return set(data["pages"]), {(p, i) for p, i in data["pairs"]}
