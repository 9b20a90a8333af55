"""A scan of hostile but benign input finishes, gives every item a status and a reason, and resumes.

The corpus is built at test time: names that are not UTF-8, duplicate and `!` names in archives,
nested and ratio decompression bombs, a big sparse file, a zip appended to a JPEG and one buried
inside a file, symlink loops, a FIFO, a folder too deep to list, and a file that grows while read.
"""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import OPERATOR, bsds_images
from tests.test_scan import designate_known

from vigil.core.errors import NotFound
from vigil.core.states import ItemStatus
from vigil.media.archives import Limits, read_item
from vigil.media.walk import ItemRef, Member
from vigil.sources.scan import report as scan_report
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store.db import Store
from vigil.store.repo import scans as repo

KNOWN = bsds_images()[200:204]
MiB = 1 << 20
LIMITS = Limits(ratio_floor=16 * MiB, max_depth=4)


def _zip(members: list[tuple[str, bytes]], level: int = 6) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _nested_bomb(depth: int) -> bytes:
    data = _zip([("zeros.bin", b"\0" * (64 * MiB))], 9)
    for level in range(depth):
        data = _zip([(f"level{level}.zip", data)], 9)
    return data


def _too_deep(root: Path, levels: int = 18) -> None:
    """A chain of folders whose full path is longer than PATH_MAX: even root cannot list the bottom."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(levels):
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with os.fdopen(os.open("hidden.jpg", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "wb") as handle:
            handle.write(KNOWN[3].read_bytes())
    finally:
        os.close(fd)


def build_corpus(root: Path) -> dict[str, object]:
    """The hostile corpus; returns what the assertions need to know about it."""
    root.mkdir()
    raw = os.fsencode(root)
    known = [p.read_bytes() for p in KNOWN]
    with open(os.path.join(raw, b"bad\xff\xfename.jpg"), "wb") as handle:  # not UTF-8
        handle.write(known[0])
    (root / "a!b.jpg").write_bytes(known[1])
    with zipfile.ZipFile(root / "dupes.zip", "w") as archive:
        archive.writestr("same.jpg", known[2])
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("same.jpg", bsds_images()[0].read_bytes())
        archive.writestr("x!y.jpg", known[3])
    (root / "nested-bomb.zip").write_bytes(_nested_bomb(3))
    (root / "ratio-bomb.zip").write_bytes(_zip([("ok.jpg", known[1]), ("zeros.bin", b"\0" * (200 * MiB))], 9))
    with open(root / "sparse.bin", "wb") as handle:
        handle.truncate(1 << 30)
    photo = bsds_images()[5].read_bytes()
    (root / "appended.jpg").write_bytes(photo + _zip([("inside/k.jpg", known[2])]))
    (root / "gif-front.gif").write_bytes(b"GIF89a" + b"\0" * 30 + _zip([("k.jpg", known[3])]))
    buried = _zip([("buried.jpg", known[0])])
    (root / "buried.dat").write_bytes(b"junk" * 1000 + buried + b"trailer" * 20000)
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.symlink(".", root / "self")
    os.symlink("/etc/passwd", root / "outside")
    os.mkfifo(root / "pipe")
    deep = root / "deep"
    deep.mkdir()
    _too_deep(deep)
    growing = root / "growing.log"
    with open(growing, "wb") as handle:
        handle.truncate(256 * MiB)
    return {"growing": growing}


class Grower(threading.Thread):
    """Appends to a file until stopped, as a log being written during a scan."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop = path, threading.Event()

    def run(self) -> None:
        with open(self.path, "ab") as handle:
            while not self.stop.wait(0.005):
                handle.write(b"line\n")
                handle.flush()


def _items(store: Store, scan_id: int) -> dict[str, tuple[ItemStatus, str | None]]:
    with store.session() as session:
        return {i.path: (i.status, i.error) for i in repo.items(session, scan_id)}


def _scan(store: Store, root: Path, **kwargs: object) -> int:
    grower = Grower(root / "growing.log")
    grower.start()
    try:
        options = ScanOptions(workers=2, limits=LIMITS)
        return run_scan(store, OPERATOR, root, options, **kwargs)  # type: ignore[arg-type]
    finally:
        grower.stop.set()
        grower.join()


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "hostile"
    build_corpus(root)
    yield root


def test_hostile_corpus_scans_to_the_end_with_a_status_and_reason_for_everything(
    store: Store, corpus: Path
) -> None:
    designate_known(store, KNOWN)
    scan_id = _scan(store, corpus)
    items = _items(store, scan_id)
    report = scan_report.build(store, scan_id)
    assert report["scan"]["status"] == "done"
    for label, (status, reason) in items.items():
        assert status in ItemStatus, label
        if status in (ItemStatus.ERROR, ItemStatus.SKIPPED):
            assert reason, label
    root = str(corpus)
    matched = {m["path"] for m in report["matches"]}
    assert {
        f"{root}/bad\\xff\\xfename.jpg",
        f"{root}/a!b.jpg",
        f"{root}/dupes.zip!same.jpg",
        f"{root}/dupes.zip!x!y.jpg",
        f"{root}/ratio-bomb.zip!ok.jpg",
        f"{root}/appended.jpg!inside/k.jpg",
        f"{root}/gif-front.gif!k.jpg",
        f"{root}/buried.dat![zip at byte 4000]!buried.jpg",
    } == matched
    with store.session() as session:
        dupes = [i for i in repo.items(session, scan_id) if i.path == f"{root}/dupes.zip!same.jpg"]
    assert len(dupes) == 2 and len({d.sha256 for d in dupes}) == 2  # both members, each its own bytes
    assert "possible decompression bomb" in (items[f"{root}/ratio-bomb.zip"][1] or "")
    assert "ratio" in (items[f"{root}/ratio-bomb.zip!zeros.bin"][1] or "")
    assert "possible decompression bomb" in (items[f"{root}/nested-bomb.zip"][1] or "")
    assert items[f"{root}/sparse.bin"] == (ItemStatus.HASHED, None)
    assert "changed during read" in (items[f"{root}/growing.log"][1] or "")
    for link in ("loop-a", "loop-b", "self", "outside"):
        status, reason = items[f"{root}/{link}"]
        assert status == ItemStatus.SKIPPED and "symbolic link" in (reason or "")
    assert items[f"{root}/pipe"][0] == ItemStatus.SKIPPED and "FIFO" in (items[f"{root}/pipe"][1] or "")
    unlisted = [reason for label, (status, reason) in items.items() if label.startswith(f"{root}/deep/")]
    assert unlisted and all("cannot list folder" in (r or "") for r in unlisted)
    assert not any("/etc/passwd" in label for label in items)  # nothing followed out of the root


def test_interrupted_hostile_scan_resumes_to_the_same_items(
    store: Store, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil.sources.scan import runner

    monkeypatch.setattr(runner, "BATCH", 3)  # several commits per scan, so the stop lands mid-scan
    designate_known(store, KNOWN)
    calls: list[int] = []

    def stop_soon(step: int, total: int) -> None:
        calls.append(step)
        if len(calls) >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _scan(store, corpus, progress=stop_soon)
    scan_id = _scan(store, corpus, resume=True)
    resumed = _items(store, scan_id)
    again = _scan(store, corpus)
    fresh = _items(store, again)
    assert set(resumed) == set(fresh)
    for label, (status, reason) in fresh.items():
        if "changed during read" not in (reason or ""):
            assert resumed[label] == (status, reason), label
    with pytest.raises(NotFound):
        _scan(store, corpus, resume=True)  # a finished scan has nothing left to resume
    assert _items(store, scan_id) == resumed


def test_items_reopen_by_reference_whatever_their_names(corpus: Path) -> None:
    root = os.fsencode(corpus)
    dupes = ItemRef(root + b"/dupes.zip")
    first, second = (dupes.child(Member("zip", i, "same.jpg")) for i in (0, 1))
    assert read_item(first) == KNOWN[2].read_bytes()
    assert read_item(second) == bsds_images()[0].read_bytes()
    bang = dupes.child(Member("zip", 2, "x!y.jpg"))
    assert read_item(ItemRef.from_json(bang.to_json())) == KNOWN[3].read_bytes()
    odd = ItemRef(root + b"/bad\xff\xfename.jpg")
    assert odd.label.endswith("bad\\xff\\xfename.jpg") and read_item(odd) == KNOWN[0].read_bytes()
    carved = ItemRef(
        root + b"/buried.dat", (Member("carved", 4000, "[zip at byte 4000]"), Member("zip", 0, "b"))
    )
    assert read_item(carved) == KNOWN[0].read_bytes()


def _kill_whoever_reads(target: Path, times: int, stop: threading.Event) -> list[int]:
    """Kill (SIGKILL) each process that has `target` open, `times` times in all, from outside."""
    killed: list[int] = []

    def hunt() -> None:
        wanted = os.path.realpath(target)
        while len(killed) < times and not stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit() or int(pid) == os.getpid() or int(pid) in killed:
                    continue
                try:
                    fds = os.listdir(f"/proc/{pid}/fd")
                    if any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == wanted for fd in fds):
                        os.kill(int(pid), 9)
                        killed.append(int(pid))
                except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
                    continue
            time.sleep(0.002)

    threading.Thread(target=hunt, daemon=True).start()
    return killed


def test_a_worker_killed_mid_scan_costs_exactly_its_item(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "share"
    folder.mkdir()
    for path in bsds_images()[:12]:
        (folder / path.name).write_bytes(path.read_bytes())
    victim = folder / "slow.bin"
    with open(victim, "wb") as handle:
        handle.truncate(600 * MiB)  # long enough to be caught reading it, twice
    stop = threading.Event()
    killed = _kill_whoever_reads(victim, 2, stop)
    try:
        scan_id = run_scan(store, OPERATOR, folder, ScanOptions(workers=2))
    finally:
        stop.set()
    items = _items(store, scan_id)
    assert len(killed) == 2  # the first attempt and the retry alone
    died = {label: reason for label, (status, reason) in items.items() if reason == "worker died"}
    assert died == {str(victim): "worker died"}
    assert len(items) == 13 and sum(status == ItemStatus.HASHED for status, _ in items.values()) == 12
    assert scan_report.build(store, scan_id)["scan"]["status"] == "done"


def test_a_scan_whose_process_died_shows_as_interrupted_and_leaves_no_workers(
    store: Store, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    folder = tmp_path / "share"
    folder.mkdir()
    for n in range(4):
        with open(folder / f"slow-{n}.bin", "wb") as handle:
            handle.truncate(2 << 30)
    argv = [sys.executable, "-m", "vigil.interfaces.cli.main", "scan", str(folder), "--workers", "2"]
    scanner = subprocess.Popen([*argv, "--db", store.url, "--report-dir", str(tmp_path / "r")])

    def workers() -> list[int]:
        found = []
        for task in os.listdir(f"/proc/{scanner.pid}/task"):
            try:  # a thread may end between the listing and the read (a walker or flush thread)
                with open(f"/proc/{scanner.pid}/task/{task}/children") as handle:
                    found += [int(c) for c in handle.read().split()]
            except FileNotFoundError:
                continue
        return found

    deadline = time.monotonic() + 60
    children: list[int] = []
    while len(children) < 2:
        assert time.monotonic() < deadline and scanner.poll() is None
        time.sleep(0.1)
        children = workers()
    os.kill(scanner.pid, signal.SIGKILL)
    scanner.wait()
    deadline = time.monotonic() + 20  # a worker still importing leaves when it starts; others at once
    while alive := [c for c in children if os.path.exists(f"/proc/{c}") and "Z" not in _state(c)]:
        assert time.monotonic() < deadline, f"workers outlived the scan: {alive}"
        time.sleep(0.1)
    from datetime import timedelta

    from vigil.core.clock import utcnow
    from vigil.store.models import Scan

    with store.transaction() as tx:
        scan = tx.scalars(select(Scan)).one()
        assert scan.status == "running"  # nothing could record the kill...
        scan.heartbeat_at = utcnow() - timedelta(minutes=5)  # as it reads once the heartbeat is old
    report = scan_report.build(store, scan.id)
    assert report["scan"]["status"] == "interrupted"  # ...but the stopped heartbeat shows it


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_an_item_that_makes_no_progress_is_recorded_as_timeout(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "share"
    folder.mkdir()
    for path in bsds_images()[:4]:
        (folder / path.name).write_bytes(path.read_bytes())
    with open(folder / "endless.bin", "wb") as handle:
        handle.truncate(1 << 30)  # a second or more to hash, far past a 0.2 s time limit
    scan_id = run_scan(store, OPERATOR, folder, ScanOptions(workers=2, item_timeout=0.2))
    items = _items(store, scan_id)
    assert items[str(folder / "endless.bin")] == (ItemStatus.ERROR, "timeout")
    assert sum(status == ItemStatus.HASHED for status, _ in items.values()) == 4
