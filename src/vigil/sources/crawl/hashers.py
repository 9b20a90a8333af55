"""The crawl's hashing processes, fed over pipes from its event loop (`vigil.signals.worker`).

Each hashing thread of a process is handed up to `DEPTH` files: the next ones are already in its
pipe when it finishes one. Handed one at a time, a process waited for the crawl's event loop to
come round between files, and while pages were being crawled (the loop at 100% of a core) the
hashers used half a core between them; two at a time, 0.8-0.9 of a core; four at a time, two
processes crawled scikit-learn's documentation in 5.44-5.58 s against 5.77-5.85 (one process,
widened to two threads once the pages were done, in 6.23-6.31 s against 6.37-6.65).

Eight at a time since the process's input pipe holds 1 MiB (`vigil.signals.worker.widen_input`):
with four, or with eight in a 64 KiB pipe, the process still waited for the loop, for the next
file or inside one; with both, it hashed 1.2-1.5 s in the crawl's first 3 s against 0.4-1.0 (one
process, scikit-learn's documentation, alternating runs).

When a process dies (a decoder crashed on a file), every file handed to it fails with HasherDied
and a new process takes its place. The caller tries each such file once more `alone`, in a process
with nothing else queued: a file that kills that one too is the culprit, and the files that were
only queued behind it are hashed. A process whose caller stops waiting (the watchdog) is killed.

Processes the caller spawned before it had an event loop (`vigil.signals.worker.spawn`) are used
first: their pipes are joined to the loop and their exit is awaited in a thread. `vigil crawl run`
starts its hashing process that way, with the worker's `warm_up`: the first image's answer came
0.15-0.21 s after it was handed over, now 0.02-0.06 s in four of six runs (a crawl of 20 pages of
scikit-learn's documentation, alternating with the old start; the other two 0.18-0.19 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pickle
import subprocess
from collections.abc import Sequence
from typing import Any, Protocol

from vigil.core.errors import VigilError
from vigil.media.decode import Mode
from vigil.signals.compute import FileSignals
from vigil.signals.worker import DEFAULT_FUNCTION, FRAME, WIDEN, command, frame, reap


class HasherDied(VigilError):
    """A hashing process ended while it had a file."""

    status = 500


class HashFailed(VigilError):
    """The hashing code raised on a file (the process itself lived)."""

    status = 500


Answer = asyncio.Future[tuple[str, Any]]
DEPTH = 8  # files handed to one hashing thread at a time


class _Child(Protocol):
    """What `_Process` needs of a child process: asyncio's own, or an adopted one."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    @property
    def stdin(self) -> asyncio.StreamWriter | None: ...
    @property
    def stdout(self) -> asyncio.StreamReader | None: ...
    async def wait(self) -> int: ...
    def kill(self) -> None: ...


class _Adopted:
    """A process started before the event loop, driven like one asyncio started."""

    def __init__(
        self, popen: subprocess.Popen[bytes], stdin: asyncio.StreamWriter, stdout: asyncio.StreamReader
    ):
        self.popen, self.stdin, self.stdout = popen, stdin, stdout
        self.pid = popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    async def wait(self) -> int:
        return await asyncio.to_thread(self.popen.wait)

    def kill(self) -> None:
        self.popen.kill()


async def _adopt(popen: subprocess.Popen[bytes]) -> _Adopted:
    """Join a spawned process's pipes to the running loop (the transports then own them)."""
    assert popen.stdin is not None and popen.stdout is not None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), popen.stdout)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, popen.stdin)
    return _Adopted(popen, asyncio.StreamWriter(transport, protocol, None, loop), reader)


class _Process:
    def __init__(self, process: _Child) -> None:
        self.process = process
        self.pending: dict[int, Answer] = {}  # ticket -> the answer for a file handed over
        self.tickets = itertools.count()
        self.alone = False  # a file that must have the process to itself is in it
        self.dead = False

    def send(self, name: str, data: bytes, mode: Mode) -> Answer:
        ticket = next(self.tickets)
        answer: Answer = asyncio.get_running_loop().create_future()
        self.pending[ticket] = answer
        assert self.process.stdin is not None
        self.process.stdin.write(frame((ticket, name, data, mode)))  # whole, before another task writes
        return answer

    async def read(self) -> None:
        """Answers, as files finish, until the process ends; then every file it still had fails
        with HasherDied."""
        stdout = self.process.stdout
        assert stdout is not None
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionResetError):
            while True:
                (size,) = FRAME.unpack(await stdout.readexactly(FRAME.size))
                ticket, status, value = pickle.loads(await stdout.readexactly(size))
                waiting = self.pending.pop(ticket)
                if not waiting.done():  # not given up by its caller
                    waiting.set_result((status, value))
        self.dead = True
        code = await self.process.wait()
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        for waiting in self.pending.values():
            if not waiting.done():
                waiting.set_exception(HasherDied(f"the hashing process died with this file ({how})"))
        self.pending.clear()

    def widen(self, threads: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(frame((WIDEN, threads)))

    def kill(self) -> None:
        self.dead = True  # no new file for it, even before its reader sees it end
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def close(self, grace: float) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # end of input: the process leaves after its files
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            self.kill()
            await self.process.wait()


class Hashers:
    """`processes` hashing processes; `function` ("module:name", called as (name, bytes, mode))
    is what they run, `vigil.signals.compute.compute` unless a test swaps it."""

    def __init__(
        self,
        processes: int,
        function: str = DEFAULT_FUNCTION,
        *,
        started: Sequence[subprocess.Popen[bytes]] = (),
    ) -> None:
        if processes < 1:
            raise ValueError("at least one hashing process")
        self.processes, self.function = processes, function
        self.started_early = list(started)  # spawned by the caller, adopted first (same `function`)
        self.workers: list[_Process] = []
        self.readers: set[asyncio.Task[None]] = set()
        self.room = asyncio.Event()  # set when a process may have room for a file
        self.started = self.closing = False
        self.threads = 1  # hashing threads per process (`widen`)

    async def start(self) -> None:
        """Start the processes now, so that they load the hashing code while the first pages are
        fetched rather than when the first image is waiting."""
        if not self.started:
            self.started = True
            for _ in range(self.processes):
                await self._start()

    async def _start(self) -> None:
        process: _Child
        if self.started_early:
            process = await _adopt(self.started_early.pop(0))
        else:
            process = await asyncio.create_subprocess_exec(
                *command(self.function), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
        if self.closing:  # a replacement that finished starting after `close` took the list
            process.kill()
            await process.wait()
            return
        worker = _Process(process)
        if self.threads > 1:  # a replacement hashes as widely as the one it replaces
            worker.widen(self.threads)
        self.workers.append(worker)
        reader = asyncio.create_task(self._watch(worker))
        self.readers.add(reader)
        reader.add_done_callback(self.readers.discard)
        self.room.set()

    async def _watch(self, worker: _Process) -> None:
        await worker.read()
        if worker in self.workers:
            self.workers.remove(worker)
        if not self.closing:
            await self._start()  # a process that died is replaced

    @property
    def capacity(self) -> int:
        """Files the processes may hold at once, widened or not: how many the caller should have
        in hand for them."""
        return DEPTH * max(self.processes, os.cpu_count() or 1)

    def widen(self) -> None:
        """Give each process as many hashing threads as there are cores per process, once the
        caller needs no core of its own any more (a crawl with no page left): one process on two
        cores then hashes 1.58x as fast. Nothing changes when there is a process per core."""
        threads = max(1, (os.cpu_count() or 1) // self.processes)
        if threads > self.threads:
            self.threads = threads
            for worker in self.workers:
                if not worker.dead:
                    worker.widen(threads)
            self.room.set()  # each process now takes more files at a time

    def _pick(self, alone: bool) -> _Process | None:
        room = 0 if alone else DEPTH * self.threads - 1
        free = [w for w in self.workers if not w.dead and not w.alone and len(w.pending) <= room]
        return min(free, key=lambda w: len(w.pending)) if free else None

    async def hash(self, name: str, data: bytes, mode: Mode = "fast", *, alone: bool = False) -> FileSignals:
        """The file's signals. Raises HasherDied if its process died with the file (then
        replaced), HashFailed if the hashing code raised. `alone`: in a process with no other file."""
        await self.start()
        while (worker := self._pick(alone)) is None:
            self.room.clear()
            await self.room.wait()
        if alone:
            worker.alone = True
        answer = worker.send(name, data, mode)
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # its reader tells
                await worker.process.stdin.drain()  # type: ignore[union-attr]
            status, value = await answer
        except asyncio.CancelledError:
            worker.kill()  # busy with a file nobody waits for; the others it had are tried again
            raise
        finally:
            if alone:
                worker.alone = False
            self.room.set()
        if status != "ok":
            raise HashFailed(str(value))
        signals: FileSignals = value
        return signals

    async def close(self, grace: float = 5.0) -> None:
        self.closing = True
        reap(self.started_early)  # spawned for this run but never needed
        self.started_early = []
        workers, self.workers = list(self.workers), []
        await asyncio.gather(*(worker.close(grace) for worker in workers), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)

    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self.workers if not worker.dead]
