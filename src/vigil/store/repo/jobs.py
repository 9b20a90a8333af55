"""Queries for the job queue that `vigil worker` drains."""

from __future__ import annotations

from sqlalchemy import select

from vigil.core.states import JobStatus
from vigil.store.db import Tx
from vigil.store.models import Job


def claim(tx: Tx) -> Job | None:
    """The oldest queued job, locked so that two workers never take the same one."""
    query = (
        select(Job)
        .where(Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return tx.scalars(query).first()


def job(tx: Tx, job_id: int) -> Job | None:
    return tx.get(Job, job_id)
