"""Long work asked for over the API, queued in the store and run by `vigil worker`.

The service only checks and queues a job; the worker (any number of them, on any machine that sees
the files and the database) claims jobs one at a time, runs them as the key holder who asked, and
records the outcome. So a scan, a list import, an exchange fetch or a crawl can never stall, starve
or crash the service, and a scan of the service's own files is refused up front: its database,
vault, keys and index are never read.

Each kind of job is one function registered with `@job_kind("name")`; the worker looks the kind
up in `KINDS`, so a new kind is one function, not another branch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
LIST_IMPORT = "list_import"
EXCHANGE_FETCH = "exchange_fetch"
CRAWL = "crawl"


@dataclass(frozen=True)
class WorkerSettings:
    """What the worker brings to every job: paths it must never read, and a Dask scheduler to scan on."""

    protected: tuple[Path, ...] = ()
    cluster: str | None = None  # tcp://host:8786; None hashes in local processes


JobRunner = Callable[[Store, Job, Actor, WorkerSettings], dict[str, Any]]
KINDS: dict[str, JobRunner] = {}


def job_kind(name: str) -> Callable[[JobRunner], JobRunner]:
    def register(runner: JobRunner) -> JobRunner:
        KINDS[name] = runner
        return runner

    return register


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


def queue(store: Store, actor: Actor, kind: str, params: dict[str, Any]) -> int:
    """Queue a job of a registered kind for `vigil worker`; audited as `job.queued`."""
    if kind not in KINDS:
        raise NotFound(f"unknown job kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    with store.transaction() as tx:
        job = Job(
            kind=kind,
            params=params,
            actor={"name": actor.name, "role": actor.role.value, "key_id": actor.key_id},
        )
        tx.add(job)
        tx.flush()
        audit.record(tx, actor, "job.queued", f"job:{job.id}", {"kind": kind, **params})
        return job.id


def queue_scan(store: Store, actor: Actor, root: Path, options: dict[str, Any]) -> int:
    return queue(store, actor, SCAN, {"root": str(root), **options})


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


@job_kind(SCAN)
def run_scan_job(store: Store, job: Job, who: Actor, worker: WorkerSettings) -> dict[str, Any]:
    from vigil.review import domain as review
    from vigil.sources.scan.runner import ScanOptions, run_scan

    options = ScanOptions(
        workers=int(job.params.get("workers", 1)),
        protected=tuple(str(p) for p in worker.protected),
        cluster=job.params.get("cluster") or worker.cluster,
    )
    scan_id = run_scan(store, who, Path(job.params["root"]), options)
    queued = review.enqueue_scan(store, who, scan_id, int(job.params.get("votes", 2)))
    return {"scan_id": scan_id, "queued_for_review": queued}


@job_kind(LIST_IMPORT)
def run_list_import(store: Store, job: Job, who: Actor, worker: WorkerSettings) -> dict[str, Any]:
    """Import a spooled upload; the spool file is removed once the import is published (a failed
    import keeps it, its path in the job's params, so nothing is lost)."""
    from vigil.lists import domain as lists
    from vigil.lists.formats import FORMATS

    spooled = Path(job.params["file"])
    reader = FORMATS.get(job.params.get("format", "csv"))
    result = lists.import_rows(
        store, who, job.params["list"], reader.read(spooled), purpose=job.params.get("purpose", "known")
    )
    spooled.unlink(missing_ok=True)
    return {
        "rows": result.rows,
        "new_entries": result.new_entries,
        "rejected": [str(error) for error in result.errors],
    }


@job_kind(EXCHANGE_FETCH)
def run_exchange_fetch(store: Store, job: Job, who: Actor, worker: WorkerSettings) -> dict[str, Any]:
    from vigil.actions.exchanges.sync import fetch

    result = fetch(store, who, job.params["exchange"])
    return {
        "added": result.added,
        "removed": result.removed,
        "deltas": result.deltas,
        "rejected": [str(error) for error in result.rejected],
    }


@job_kind(CRAWL)
def run_crawl(store: Store, job: Job, who: Actor, worker: WorkerSettings) -> dict[str, Any]:
    """Run (or resume) a crawl job created with `vigil crawl start`."""
    from vigil.sources.crawl.jobs import run_job

    stats = run_job(store, who, int(job.params["crawl_job"]), page_limit=job.params.get("page_limit"))
    return {"pages": stats.pages, "images": stats.images, "hits": stats.hits, "queued": stats.left_queued}


def run_next(store: Store, protected: Sequence[Path] = (), *, cluster: str | None = None) -> Job | None:
    """Claim and run one job; a failure is recorded with its reason and the worker goes on."""
    job = _claim(store)
    if job is None:
        return None
    try:
        runner = KINDS.get(job.kind)
        if runner is None:
            raise NotFound(f"unknown job kind {job.kind!r}")
        who = Actor(job.actor["name"], Role(job.actor["role"]), job.actor.get("key_id"))
        result, error = runner(store, job, who, WorkerSettings(tuple(protected), cluster)), None
    except Exception as exc:  # one bad job must not stop the worker; the reason is kept on the job
        result, error = None, f"{type(exc).__name__}: {exc}"
    _finish(store, job.id, result, error)
    return status(store, job.id)


def work(
    store: Store,
    protected: Sequence[Path] = (),
    *,
    once: bool = False,
    poll: float = 2.0,
    cluster: str | None = None,
    idle: Callable[[], object] | None = None,
) -> int:
    """Run jobs until none is left (`once`) or forever; returns how many ran. `idle` runs whenever
    the queue is empty (scheduled work: exchange fetches)."""
    ran = 0
    while True:
        job = run_next(store, protected, cluster=cluster)
        if job is not None:
            ran += 1
            continue
        if idle is not None:
            idle()
        if once:
            return ran
        time.sleep(poll)
