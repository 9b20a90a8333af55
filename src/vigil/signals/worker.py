"""A hashing process fed over its standard input: `python -m vigil.signals.worker PARENT_PID FUNCTION`.

Each request is one frame (an 8-byte big-endian length, then a pickle of `(ticket, name, bytes,
mode)`), answered by one frame holding `(ticket, "ok", FileSignals)` or `(ticket, "error",
message)`. Files are hashed one at a time, in order. A decoder that crashes takes this process
with it, and the process that feeds it knows which files it had handed over
(`vigil.sources.crawl.hashers`).

One process per core, not threads: two hashing threads in one process (decoding, OpenCV and
NumPy's whole-image work release the GIL) crawled scikit-learn's documentation at 115 pages/s
against 134 with two processes, for 55 MiB less peak RSS.

Plain pipes rather than a `multiprocessing` pool: no fork server and no resource tracker (48 MiB
of resident memory beside two hashers), no feeder or manager threads in the crawl, and the crawl
talks to it from its event loop. The process exits when its parent dies, however it dies (kill -9
included), and when its input closes.
"""

from __future__ import annotations

import importlib
import os
import pickle
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

FRAME = struct.Struct(">Q")
DEFAULT_FUNCTION = "vigil.signals.compute:compute"


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


def serve(parent: int, spec: str = DEFAULT_FUNCTION) -> None:
    # Before OpenCV loads: one thread, as the pool already has a process per core and OpenCV's
    # own threads on top only fight over the same cores (measured on 879 plots: 17.0 ms of CPU
    # per image with its default threads against 14.8 with one, for the same wall time alone).
    os.environ["OPENCV_FOR_THREADS_NUM"] = "1"
    from vigil.core.children import die_with_parent, return_freed_memory

    die_with_parent(parent)
    return_freed_memory()
    hash_file = _function(spec)
    # Answers go to a private copy of standard output, and file descriptor 1 becomes standard
    # error: a decoder library that prints (libpng's warnings) cannot corrupt a frame.
    sink = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    source = sys.stdin.buffer
    while (request := read_frame(source)) is not None:
        ticket, name, data, mode = pickle.loads(request)
        try:
            reply: tuple[int, str, Any] = (ticket, "ok", hash_file(name, data, mode))
        except Exception as exc:  # the file's error goes back; the process stays for the next
            reply = (ticket, "error", f"{type(exc).__name__}: {exc}")
        sink.write(frame(reply))
        sink.flush()


if __name__ == "__main__":  # pragma: no cover - run as a child process
    serve(int(sys.argv[1]), sys.argv[2])
