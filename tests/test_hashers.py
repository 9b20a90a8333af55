"""The crawl's hashing processes (`vigil.sources.crawl.hashers` over `vigil.signals.worker`): files
hashed as in-process, a process busy past its caller's patience replaced, errors kept per file."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import bsds_images

from vigil.signals.compute import compute
from vigil.signals.worker import INPUT_PIPE_BYTES, frame, read_frame, reap, spawn
from vigil.sources.crawl.hashers import HasherDied, Hashers, HashFailed

HERE = "tests.test_hashers"
_PAIR = threading.Barrier(2, timeout=3.0)
WARMED: list[int] = []  # in a hashing process: its pid, once `warm_up` ran there


def warm_up() -> None:
    """What the worker runs before its first file (`vigil.signals.worker._warm_up`)."""
    if os.environ.get("VIGIL_TEST_WARM_UP_FAILS"):
        raise OSError("the warm-up cannot load a library")
    WARMED.append(os.getpid())


def _warmed(name: str, data: bytes, mode: str) -> Any:
    """Whether this process ran `warm_up` before it got this file."""
    return [os.getpid()] == WARMED


def _noting_the_exit(name: str, data: bytes, mode: str) -> Any:
    """Hashes; at the process's exit, writes into $VIGIL_TEST_EXIT_NOTE whether the objects it
    has were frozen out of the interpreter's last collections by then."""
    import atexit
    import gc

    note = Path(os.environ["VIGIL_TEST_EXIT_NOTE"])
    atexit.register(lambda: note.write_text(f"frozen {gc.get_freeze_count() > 0}"))
    return compute(name, data, mode)  # type: ignore[arg-type]


def _awkward(name: str, data: bytes, mode: str) -> Any:
    """Hashes like the real thing, except: prints to standard output on every file (as libpng's
    warnings would), sleeps on `SLOW`, raises on `RAISE`."""
    print("a decoder library talking on standard output")
    os.write(1, b"and one writing to the descriptor itself\n")
    if data.startswith(b"SLOW"):
        time.sleep(60)
    if data.startswith(b"RAISE"):
        raise ValueError("this file upsets the hashing code")
    return compute(name, data, mode)  # type: ignore[arg-type]


def test_a_hashing_process_gives_what_compute_gives_and_survives_errors_and_chatter() -> None:
    image = bsds_images()[3].read_bytes()

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_awkward")
        try:
            signals = await hashers.hash("a.jpg", image)
            with pytest.raises(HashFailed, match="upsets the hashing code"):
                await hashers.hash("b.jpg", b"RAISE")
            again = await hashers.hash("a.jpg", image)
            [pid] = hashers.pids()
        finally:
            await hashers.close()
        expected = compute("a.jpg", image, "fast")
        assert signals.pdq == again.pdq == expected.pdq and signals.sha256 == expected.sha256
        assert signals.pdq_variants == expected.pdq_variants
        assert not hashers.workers
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    asyncio.run(run())


def test_a_process_the_caller_stops_waiting_for_is_killed_and_replaced() -> None:
    image = bsds_images()[4].read_bytes()

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_awkward")
        try:
            await hashers.start()
            [stuck] = hashers.pids()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(hashers.hash("slow.jpg", b"SLOW"), 2.0)
            signals = await hashers.hash("a.jpg", image)
            [fresh] = hashers.pids()
        finally:
            await hashers.close()
        assert fresh != stuck and signals.pdq
        await asyncio.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.kill(stuck, 0)

    asyncio.run(run())


def _in_pairs(name: str, data: bytes, mode: str) -> Any:
    """Hashes only with another file being hashed at the same time in the same process."""
    try:
        _PAIR.wait()
    except threading.BrokenBarrierError:
        _PAIR.reset()  # for the next pair
        raise
    return compute(name, data, mode)  # type: ignore[arg-type]


def test_a_widened_process_hashes_two_files_at_once_and_gives_what_compute_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One process on two cores, widened (a crawl with no page left): two files are hashed side
    by side, each exactly as in-process. Before it is widened the same two files cannot meet."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    images = [path.read_bytes() for path in bsds_images()[5:7]]

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_in_pairs")
        try:
            with pytest.raises(HashFailed, match="BrokenBarrierError"):
                await hashers.hash("alone.jpg", images[0])
            hashers.widen()
            both = await asyncio.gather(*(hashers.hash(f"{n}.jpg", image) for n, image in enumerate(images)))
            [pid] = hashers.pids()
        finally:
            await hashers.close()
        for n, (signals, image) in enumerate(zip(both, images, strict=True)):
            expected = compute(f"{n}.jpg", image, "fast")
            assert (signals.pdq, signals.pdq_variants, signals.sha256) == (
                expected.pdq,
                expected.pdq_variants,
                expected.sha256,
            )
        assert hashers.threads == 2
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    asyncio.run(run())


def test_processes_spawned_before_the_loop_are_adopted_warmed_up_replaced_and_ended() -> None:
    """`vigil crawl run` spawns its hashing processes before it has an event loop: the first is
    used (it ran its module's `warm_up` before its first file); when it dies the next spawned one
    takes its place, and one nobody needed is ended when the hashers close."""
    started = spawn(3, f"{HERE}:_warmed")
    early = [process.pid for process in started]

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_warmed", started=started)
        try:
            assert await hashers.hash("a.jpg", b"anything") is True
            assert hashers.pids() == [early[0]]
            os.kill(early[0], signal.SIGKILL)
            while hashers.pids() in ([], [early[0]]):  # its reader sees it end, a new one starts
                await asyncio.sleep(0.05)
            try:
                warm = await hashers.hash("b.jpg", b"anything")
            except HasherDied:  # handed over just before the old one's end was seen
                warm = await hashers.hash("b.jpg", b"anything")
            [fresh] = hashers.pids()
        finally:
            await hashers.close()
        assert warm is True and fresh == early[1]
        assert started[0].returncode == -signal.SIGKILL
        assert started[1].returncode == 0  # its input closed: it left after its files
        assert started[2].returncode == -signal.SIGKILL  # never needed, ended with the hashers
        for pid in early:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)

    asyncio.run(run())


def test_a_large_picture_goes_into_a_busy_process_pipe_whole() -> None:
    """The crawl's event loop writes a file into the pipe and refills it only when it comes round
    again; the pipe holds 1 MiB, so a large picture (906 KiB on scikit-learn's documentation) goes
    in with one write while the process is still busy with the file before."""
    [process] = spawn(1, f"{HERE}:_awkward")
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(frame((0, "a.txt", b"plain text", "fast")))
        process.stdin.flush()
        assert read_frame(process.stdout) is not None  # it is serving: its input was widened first
        assert fcntl.fcntl(process.stdin.fileno(), fcntl.F_GETPIPE_SZ) == INPUT_PIPE_BYTES
        process.stdin.write(frame((1, "slow.png", b"SLOW", "fast")))  # it sleeps on this one
        process.stdin.flush()
        large = frame((2, "large.png", bytes(900 * 1024), "fast"))
        os.set_blocking(process.stdin.fileno(), False)
        assert os.write(process.stdin.fileno(), large) == len(large)  # 64 KiB with the default pipe
    finally:
        reap([process])


def test_a_hashing_process_ends_without_collecting_what_it_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crawl waits for its hashing process to end once its input closes: the process skips the
    interpreter's collections over NumPy's, OpenCV's and Pillow's objects, and still exits cleanly
    (status 0, its atexit handlers run) after answering every file."""
    note = tmp_path / "exit.txt"
    monkeypatch.setenv("VIGIL_TEST_EXIT_NOTE", str(note))
    image = bsds_images()[3].read_bytes()

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_noting_the_exit")
        try:
            signals = await hashers.hash("a.jpg", image)
            [worker] = hashers.workers
        finally:
            await hashers.close()
        assert signals.pdq == compute("a.jpg", image).pdq
        assert worker.process.returncode == 0

    asyncio.run(run())
    assert note.read_text() == "frozen True"


def test_a_warm_up_that_fails_leaves_the_process_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that died in its warm-up would be replaced over and over; it serves instead."""
    monkeypatch.setenv("VIGIL_TEST_WARM_UP_FAILS", "1")

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_warmed")
        try:
            first = await hashers.hash("a.jpg", b"anything")
            [pid] = hashers.pids()
            second = await hashers.hash("b.jpg", b"anything")
            assert hashers.pids() == [pid]
        finally:
            await hashers.close()
        assert first is False and second is False  # served, without the warm-up's effect

    asyncio.run(run())


def test_closing_while_a_replacement_starts_ends_it_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """A crawl stopped by Ctrl-C or SIGTERM cancels its hashing calls, which kills their process;
    its reader starts a replacement, and `close` may come while that one is starting. The
    replacement must end with the others: it used to be added after `close` had taken the list
    of processes, and stayed, with its reader waiting for it."""
    real_spawn = asyncio.create_subprocess_exec
    spawned: list[asyncio.subprocess.Process] = []

    async def slow_spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        await asyncio.sleep(0.5)  # a replacement still starting when `close` comes
        process = await real_spawn(*args, **kwargs)
        spawned.append(process)
        return process

    async def run() -> None:
        hashers = Hashers(1, function=f"{HERE}:_awkward")
        await hashers.start()
        monkeypatch.setattr(asyncio, "create_subprocess_exec", slow_spawn)
        stuck = asyncio.create_task(hashers.hash("slow.jpg", b"SLOW"))
        await asyncio.sleep(0.5)
        stuck.cancel()  # kills its process; the reader sees it end and starts another
        with contextlib.suppress(asyncio.CancelledError):
            await stuck
        while hashers.workers:  # the killed one is gone, its replacement not there yet
            await asyncio.sleep(0.01)
        await asyncio.wait_for(hashers.close(), 15)
        assert len(spawned) == 1 and spawned[0].returncode is not None
        assert not hashers.workers and not hashers.readers

    asyncio.run(run())
