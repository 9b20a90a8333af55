"""/v1/jobs, /v1/exchanges and /v1/crawls: long work queued for `vigil worker`, and its state.

The service never runs a scan, import, fetch or crawl itself: it checks the request, queues a job
and answers 202. Each kind of job needs the permission of the work it does, to queue it and to see it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from vigil.core.actor import Actor, Permission
from vigil.core.errors import Forbidden
from vigil.interfaces.api.deps import ServiceDep, need
from vigil.interfaces.api.schemas import JobOut, JobTicket
from vigil.sources import jobs
from vigil.store.models import Job

router = APIRouter(tags=["jobs"])

KIND_PERMISSION = {
    jobs.SCAN: Permission.SCAN,
    jobs.CRAWL: Permission.SCAN,
    jobs.LIST_IMPORT: Permission.LISTS,
    jobs.EXCHANGE_FETCH: Permission.LISTS,
}


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status.value,
        result=job.result,
        error=job.error,
        created_at=job.created_at.isoformat(),
    )


@router.get("/v1/jobs/{job_id}")
def get_job(job_id: int, who: Annotated[Actor, need(Permission.SCAN)], service: ServiceDep) -> JobOut:
    """A queued job: queued, running, done (with what it produced) or failed (with the reason)."""
    job = jobs.status(service.store, job_id)
    if not who.can(KIND_PERMISSION.get(job.kind, Permission.KEYS)):
        raise Forbidden(f"role {who.role} cannot see {job.kind} jobs")
    return job_out(job)


@router.post("/v1/exchanges/{name}/fetch", status_code=202)
def fetch_exchange(
    name: str, who: Annotated[Actor, need(Permission.LISTS)], service: ServiceDep
) -> JobTicket:
    """Queue a fetch from a configured exchange (resumes from its checkpoint); 202 with the job id."""
    return JobTicket(
        job=jobs.queue(service.store, who, jobs.EXCHANGE_FETCH, {"exchange": name}), kind=jobs.EXCHANGE_FETCH
    )


@router.post("/v1/crawls/{crawl_id}/run", status_code=202)
def run_crawl(crawl_id: int, who: Annotated[Actor, need(Permission.SCAN)], service: ServiceDep) -> JobTicket:
    """Queue a run (or resumption) of a crawl created with `vigil crawl start`; 202 with the job id."""
    return JobTicket(job=jobs.queue(service.store, who, jobs.CRAWL, {"crawl_job": crawl_id}), kind=jobs.CRAWL)
