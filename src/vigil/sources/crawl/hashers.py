"""The crawl's hashing processes, fed over pipes from its event loop (`vigil.signals.worker`).

Each process hashes one file at a time, so when one dies (a decoder crashed on a file) the crawl
knows the file that killed it: that file alone is tried once more in a fresh process, and the
others in flight carry on in theirs. A process that outlives the watchdog is killed and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
from typing import Any

from vigil.core.errors import VigilError
from vigil.media.decode import Mode
from vigil.signals.compute import FileSignals
from vigil.signals.worker import DEFAULT_FUNCTION, FRAME, frame


class HasherDied(VigilError):
    """A hashing process ended while it had a file."""

    status = 500


class HashFailed(VigilError):
    """The hashing code raised on a file (the process itself lived)."""

    status = 500


class _Process:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ask(self, request: bytes) -> tuple[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(request)
            await stdin.drain()
            (size,) = FRAME.unpack(await stdout.readexactly(FRAME.size))
            answer: tuple[str, Any] = pickle.loads(await stdout.readexactly(size))
        except (asyncio.IncompleteReadError, BrokenPipeError, ConnectionResetError) as exc:
            code = await self.process.wait()
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            raise HasherDied(f"the hashing process died on this file ({how})") from exc
        return answer

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def close(self, grace: float) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # end of input: the process leaves after its file
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            self.kill()
            await self.process.wait()


class Hashers:
    """`processes` hashing processes; `function` ("module:name", called as (name, bytes, mode))
    is what they run, `vigil.signals.compute.compute` unless a test swaps it."""

    def __init__(self, processes: int, function: str = DEFAULT_FUNCTION) -> None:
        if processes < 1:
            raise ValueError("at least one hashing process")
        self.processes, self.function = processes, function
        self.idle: asyncio.Queue[_Process | None] = asyncio.Queue()
        for _ in range(processes):
            self.idle.put_nowait(None)  # a process to start when this place is first taken
        self.live: set[_Process] = set()

    async def start(self) -> None:
        """Start every process now, so that they load the hashing code while the first pages are
        fetched rather than when the first image is waiting."""
        waiting = [self.idle.get_nowait() for _ in range(self.idle.qsize())]
        for worker in waiting:
            self.idle.put_nowait(worker if worker is not None else await self._start())

    async def _start(self) -> _Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vigil.signals.worker",
            str(os.getpid()),
            self.function,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        started = _Process(process)
        self.live.add(started)
        return started

    async def hash(self, name: str, data: bytes, mode: Mode = "fast") -> FileSignals:
        """The file's signals. Raises HasherDied if its process died on it (then replaced),
        HashFailed if the hashing code raised."""
        worker = await self.idle.get()
        healthy = False
        try:
            if worker is None:
                worker = await self._start()
            status, value = await worker.ask(frame((name, data, mode)))
            healthy = True
        finally:
            if healthy:
                self.idle.put_nowait(worker)
            else:  # dead, or still busy with a file we stopped waiting for: a new one takes its place
                if worker is not None:
                    worker.kill()
                    self.live.discard(worker)
                self.idle.put_nowait(None)
        if status != "ok":
            raise HashFailed(str(value))
        signals: FileSignals = value
        return signals

    async def close(self, grace: float = 5.0) -> None:
        live, self.live = list(self.live), set()
        await asyncio.gather(*(worker.close(grace) for worker in live), return_exceptions=True)

    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self.live]
