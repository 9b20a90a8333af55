"""Long work asked for over the API, queued in the store and run by `vigil worker`.

The service only checks and queues a scan; the worker (any number of them, on any machine that sees
the files and the database) claims jobs one at a time, runs them as the key holder who asked, and
records the outcome. So a scan can never stall, starve or crash the service, and a scan of the
service's own files is refused up front: its database, vault, keys and index are never read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vigil.core.actor import Actor, Role
from vigil.core.clock import utcnow
from vigil.core.errors import Forbidden, NotFound
from vigil.core.states import JobStatus
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import Job
from vigil.store.repo import jobs as repo

SCAN = "scan"


def check_scan_root(root: Path, allowed: Sequence[Path], protected: Sequence[Path]) -> Path:
    """The resolved root, if it lies inside an allowed root and neither holds nor lies inside a
    protected path (the database, vault, key files, index)."""
    root = root.resolve()
    if allowed and not any(root.is_relative_to(r.resolve()) for r in allowed):
        raise Forbidden("path is outside the configured scan roots")
    for path in protected:
        guarded = path.resolve()
        if guarded == root or guarded.is_relative_to(root) or root.is_relative_to(guarded):
            raise Forbidden(
                f"{root} holds or lies inside Vigil's own files ({guarded.name}); it is not scanned"
            )
    if not root.exists():
        raise NotFound("path does not exist")
    return root


def queue_scan(store: Store, actor: Actor, root: Path, options: dict[str, Any]) -> int:
    with store.transaction() as tx:
        job = Job(
            kind=SCAN,
            params={"root": str(root), **options},
            actor={"name": actor.name, "role": actor.role.value, "key_id": actor.key_id},
        )
        tx.add(job)
        tx.flush()
        audit.record(tx, actor, "job.queued", f"job:{job.id}", {"kind": SCAN, "root": str(root)})
        return job.id


def status(store: Store, job_id: int) -> Job:
    with store.session() as tx:
        found = repo.job(tx, job_id)
    if found is None:
        raise NotFound(f"no job {job_id}")
    return found


def _claim(store: Store) -> Job | None:
    with store.transaction() as tx:
        job = repo.claim(tx)
        if job is None:
            return None
        job.status, job.started_at = JobStatus.RUNNING, utcnow()
        return job


def _finish(store: Store, job_id: int, result: dict[str, Any] | None, error: str | None) -> None:
    with store.transaction() as tx:
        job = repo.job(tx, job_id)
        assert job is not None
        job.status = JobStatus.FAILED if error else JobStatus.DONE
        job.result, job.error, job.finished_at = result, error, utcnow()
        audit.record(tx, Actor.system("worker"), f"job.{job.status.value}", f"job:{job_id}", {"error": error})


def run_scan_job(store: Store, job: Job, protected: Sequence[Path]) -> dict[str, Any]:
    from vigil.review import domain as review
    from vigil.sources.scan.runner import ScanOptions, run_scan

    who = Actor(job.actor["name"], Role(job.actor["role"]), job.actor.get("key_id"))
    options = ScanOptions(
        workers=int(job.params.get("workers", 1)), protected=tuple(str(p) for p in protected)
    )
    scan_id = run_scan(store, who, Path(job.params["root"]), options)
    queued = review.enqueue_scan(store, who, scan_id, int(job.params.get("votes", 2)))
    return {"scan_id": scan_id, "queued_for_review": queued}


def run_next(store: Store, protected: Sequence[Path] = ()) -> Job | None:
    """Claim and run one job; a failure is recorded with its reason and the worker goes on."""
    job = _claim(store)
    if job is None:
        return None
    try:
        if job.kind != SCAN:
            raise NotFound(f"unknown job kind {job.kind!r}")
        result, error = run_scan_job(store, job, protected), None
    except Exception as exc:  # one bad job must not stop the worker; the reason is kept on the job
        result, error = None, f"{type(exc).__name__}: {exc}"
    _finish(store, job.id, result, error)
    return status(store, job.id)


def work(store: Store, protected: Sequence[Path] = (), *, once: bool = False, poll: float = 2.0) -> int:
    """Run jobs until none is left (`once`) or forever; returns how many ran."""
    ran = 0
    while True:
        job = run_next(store, protected)
        if job is not None:
            ran += 1
            continue
        if once:
            return ran
        time.sleep(poll)
