"""A hashing process fed over its standard input: `python -m vigil.signals.worker PARENT_PID FUNCTION`.

Each request is one frame (an 8-byte big-endian length, then a pickle of `(ticket, name, bytes,
mode)`), answered by one frame holding `(ticket, "ok", FileSignals)` or `(ticket, "error",
message)`. Files are hashed one at a time, in order, until a `(WIDEN, threads)` frame asks for more
hashing threads: a crawl sends it when it has no page left and the process shares the machine with
nothing else. A decoder that crashes takes this process with it, and the process that feeds it
knows which files it had handed over (`vigil.sources.crawl.hashers`).

More threads only once the crawl needs no core of its own: two hashing threads in one process
(decoding, OpenCV and NumPy's whole-image work release the GIL) hash 1.58x as fast as one, two
processes twice as fast. On two cores a crawl runs one process and widens it to two threads when
its pages are done (`default_processes`): on scikit-learn's documentation
about 10% slower than two processes, for about 60 MiB less peak RSS.

Plain pipes rather than a `multiprocessing` pool: no fork server and no resource tracker (48 MiB
of resident memory beside two hashers), no feeder or manager threads in the crawl, and the crawl
talks to it from its event loop. The process exits when its parent dies, however it dies (kill -9
included), and when its input closes.

`spawn` starts one before the caller has an event loop or has loaded its own code: this module
needs only the standard library, so `vigil crawl run` starts its hashing process first and the
process loads NumPy, Pillow and OpenCV on the second core while the crawl loads SQLAlchemy and
reads its job (`vigil.sources.crawl.hashers` then joins its pipes to the loop).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

FRAME = struct.Struct(">Q")
WIDEN = -1  # the ticket of a request for more hashing threads: (WIDEN, threads)
DEFAULT_FUNCTION = "vigil.signals.compute:compute"
INPUT_PIPE_BYTES = 1024 * 1024  # Linux's limit for a process without privileges (pipe-max-size)


def default_processes() -> int:
    """One hashing process per core but one: the crawl loop needs a core while pages are fetched,
    and once only images are left each process takes more hashing threads (`Hashers.widen`). On
    2 cores, scikit-learn's documentation: one widened process crawled 140-159 pages/s at 198-207
    MiB of RSS, two processes 159-168 pages/s at 261-267 MiB (1.42-1.55x and 1.87-2.02x Scrapy's
    peak in the same runs): the goals are 150 pages/s and 1.5x."""
    return max(1, (os.cpu_count() or 1) - 1)


def command(function: str = DEFAULT_FUNCTION) -> list[str]:
    """The command line of a hashing process that runs `function` and dies with this process."""
    return [sys.executable, "-m", "vigil.signals.worker", str(os.getpid()), function]


def spawn(processes: int | None = None, function: str = DEFAULT_FUNCTION) -> list[subprocess.Popen[bytes]]:
    """Start `processes` hashing processes now (None: `default_processes`; 0: none), fed over
    their standard input by whoever adopts them (`vigil.sources.crawl.hashers.Hashers`)."""
    count = default_processes() if processes is None else processes
    line = command(function)
    return [subprocess.Popen(line, stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(count)]


def reap(processes: list[subprocess.Popen[bytes]]) -> None:
    """End spawned processes that nobody adopted or that are still running, and wait for them."""
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


def read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def frame(payload: Any) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(data)) + data


def _function(spec: str) -> Callable[..., Any]:
    module, _, name = spec.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found


def widen_input(size: int = INPUT_PIPE_BYTES) -> None:
    """Linux: let standard input's pipe hold `size` bytes (64 KiB by default), so the files handed
    over lie whole in the pipe. The crawl writes them from its event loop, which refills a full
    pipe only when it comes round (every 12 ms, 29 ms at p90, while pages are parsed), and the
    797 pictures of scikit-learn's documentation are 61 KiB on average, 117 KiB at p90 and up to
    906 KiB: with 64 KiB, this process waited inside a file's frame for the loop. Nothing changes
    where the call is refused (another system, a file for input, a lower limit)."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is not None:
        with contextlib.suppress(OSError, ValueError):
            fcntl.fcntl(sys.stdin.fileno(), setting, size)


def _warm_up(spec: str) -> None:
    """Run the hashing module's `warm_up` if it has one, before the first file can arrive: the
    first picture otherwise also paid for loading OpenCV and NumPy's first calls (its answer came
    0.12-0.18 s after it was handed over in a crawl; 0.02-0.06 s in most runs once warm)."""
    module = importlib.import_module(spec.partition(":")[0])
    warm = getattr(module, "warm_up", None)
    if callable(warm):
        # A process that died here would be replaced forever; whatever failed fails again on each
        # file instead, and is reported with that file.
        with contextlib.suppress(Exception):
            warm()


def serve(parent: int, spec: str = DEFAULT_FUNCTION) -> None:
    # Before OpenCV loads: one thread, as the pool already has a process per core and OpenCV's
    # own threads on top only fight over the same cores (measured on 879 plots: 17.0 ms of CPU
    # per image with its default threads against 14.8 with one, for the same wall time alone).
    os.environ["OPENCV_FOR_THREADS_NUM"] = "1"
    from vigil.core.children import die_with_parent, return_freed_memory
    from vigil.core.teardown import skip_exit_collections

    die_with_parent(parent)
    # Ctrl-C reaches the whole process group: the crawl stops in order, closing this process's
    # input (it leaves after the files it has), and would otherwise replace it as if it crashed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    widen_input()
    return_freed_memory()
    hash_file = _function(spec)
    _warm_up(spec)
    # Answers go to a private copy of standard output, and file descriptor 1 becomes standard
    # error: a decoder library that prints (libpng's warnings) cannot corrupt a frame.
    sink = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _Hashing(hash_file, sys.stdin.buffer, sink).run()
    # A crawl waits for this process to end: without the last collections over NumPy, OpenCV and
    # Pillow, it ends 11-18 ms after its input closed instead of 25-50 (200 plots hashed first;
    # eight runs each, one of the eight at 48 ms).
    skip_exit_collections()


class _Hashing:
    """Hashing threads sharing one input and one output: each takes the next frame, hashes it and
    writes its answer whole (answers name their tickets, so their order does not matter)."""

    def __init__(self, hash_file: Callable[..., Any], source: BinaryIO, sink: BinaryIO) -> None:
        self.hash_file, self.source, self.sink = hash_file, source, sink
        self.reading, self.writing = threading.Lock(), threading.Lock()
        self.threads: list[threading.Thread] = []

    def run(self) -> None:
        self._hash_until_the_input_ends()
        for thread in self.threads:
            thread.join()

    def _widen(self, threads: int) -> None:
        while len(self.threads) + 1 < threads:
            thread = threading.Thread(target=self._hash_until_the_input_ends, daemon=True)
            self.threads.append(thread)
            thread.start()

    def _hash_until_the_input_ends(self) -> None:
        while True:
            with self.reading:
                request = read_frame(self.source)
            if request is None:
                return
            ticket, *rest = pickle.loads(request)
            if ticket == WIDEN:
                self._widen(rest[0])
                continue
            name, data, mode = rest
            try:
                reply: tuple[int, str, Any] = (ticket, "ok", self.hash_file(name, data, mode))
            except Exception as exc:  # the file's error goes back; the process stays for the next
                reply = (ticket, "error", f"{type(exc).__name__}: {exc}")
            answer = frame(reply)
            with self.writing:
                self.sink.write(answer)
                self.sink.flush()


if __name__ == "__main__":  # pragma: no cover - run as a child process
    serve(int(sys.argv[1]), sys.argv[2])
