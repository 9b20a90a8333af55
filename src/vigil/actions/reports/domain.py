"""Clearinghouse reports for confirmed items: draft (with what is missing), then submit.

Both steps are audited. A draft is built from the review item, its preserved evidence and the
context the provider supplied; submission sends it with the evidence file through the client, which
retracts a half-sent report rather than leave it open.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.actions.reports import cybertip
from vigil.actions.reports.client import ClearinghouseClient, SubmissionError
from vigil.core.actor import Actor
from vigil.core.clock import utcnow
from vigil.core.errors import Conflict, NotFound
from vigil.core.states import ReviewStatus, SubmissionStatus
from vigil.review.evidence import Vault
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import Evidence, ReviewItem, Submission
from vigil.store.repo import evidence as evidence_repo
from vigil.store.repo import reports as repo
from vigil.store.repo import review as review_repo


@dataclass(frozen=True)
class ReportSettings:
    """Who reports, and where to: the reporting person in every report and the clearinghouse API."""

    reporter_email: str = "trust-and-safety@example.org"
    reporter_name: tuple[str, str] = ("", "")
    clearinghouse_url: str | None = None
    clearinghouse_user: str = ""
    clearinghouse_password: str = ""


def report_input(
    item: ReviewItem, evidence: Evidence | None, settings: ReportSettings
) -> cybertip.ReportInput:
    context = item.context or {}
    account = context.get("account", {})
    return cybertip.ReportInput(
        incident_time=(item.decided_at or utcnow()).isoformat(),
        reporter_email=settings.reporter_email,
        reporter_name=settings.reporter_name,
        url=context.get("url"),
        user={
            "espIdentifier": context.get("uploader") or account.get("id"),
            "screenName": account.get("screen_name"),
            "email": account.get("email"),
            "country": context.get("country") or account.get("country"),
        },
        ip_events=context.get("ip_events", []),
        file_name=(item.reason or {}).get("name") or (Path(item.path).name if item.path else None),
        file_hashes={"MD5": evidence.md5, "SHA256": evidence.sha256} if evidence else {"SHA256": item.sha256},
        file_preserved=evidence is not None,
        category=f"{item.category_scheme} {item.category}" if item.category else None,
    )


def draft(store: Store, actor: Actor, item_id: int, settings: ReportSettings) -> dict[str, Any]:
    """Draft the report for a confirmed item; the answer shows what is missing before sending."""
    with store.transaction() as tx:
        item = review_repo.item(tx, item_id)
        if item is None or item.status != ReviewStatus.CONFIRMED:
            raise Conflict("only confirmed items are reported")
        data = report_input(item, evidence_repo.for_item(tx, item_id), settings)
        xml = cybertip.report_xml(data)
        score = cybertip.actionability(data)
        submission = Submission(
            review_item_id=item_id, report_xml=xml, actionability=score, idempotency_key=uuid.uuid4().hex
        )
        tx.add(submission)
        tx.flush()
        audit.record(tx, actor, "report.draft", f"report:{submission.id}", {"score": score["score"]})
        return {"report_id": submission.id, "xml": xml, "actionability": score}


def submit(
    store: Store, actor: Actor, report_id: int, vault: Vault, settings: ReportSettings
) -> dict[str, Any]:
    """Send a drafted report and its evidence; a failure is recorded (and audited) and re-raised."""
    if not settings.clearinghouse_url:
        raise Conflict("no clearinghouse configured")
    failure: SubmissionError | None = None
    with store.transaction() as tx:
        submission = repo.submission(tx, report_id)
        if submission is None:
            raise NotFound(f"no report {report_id}")
        if submission.status == SubmissionStatus.FINISHED:
            return {"status": submission.status.value, "remote_id": submission.remote_id}
        item = review_repo.item(tx, submission.review_item_id)
        if item is None:
            raise NotFound(f"report {report_id} has no review item")
        evidence = evidence_repo.for_item(tx, submission.review_item_id)
        data = report_input(item, evidence, settings)
        file_bytes = vault.read(tx, evidence.id, actor) if evidence else None
        client = ClearinghouseClient(
            settings.clearinghouse_url, settings.clearinghouse_user, settings.clearinghouse_password
        )
        try:
            submission.remote_id = client.submit(
                submission.report_xml, data, file_bytes, submission.idempotency_key
            )
            submission.status = SubmissionStatus.FINISHED
            audit.record(
                tx, actor, "report.submit", f"report:{report_id}", {"remote_id": submission.remote_id}
            )
        except SubmissionError as exc:
            submission.status = SubmissionStatus.FAILED
            audit.record(tx, actor, "report.failed", f"report:{report_id}", {"error": str(exc)})
            failure = exc
        submission.updated_at = utcnow()
        result = {"status": submission.status.value, "remote_id": submission.remote_id}
    if failure is not None:
        raise failure
    return result
