"""Clearinghouse reports for confirmed items: draft (validated, with what is missing), then submit.

One report per item, and per reported user while it is unsent: a file confirmed later for the same
account joins the open report; once a report about that account is finished, a new one cites it in
`priorCTReports`. Drafting an item already in a report returns that report, so one item can never
get two clearinghouse ids.

Every draft is written through the XSD before it is stored; a draft the XSD refuses is not stored
and the refusal carries the schema's messages. Statements with legal weight come from recorded
facts: `fileViewedByEsp` from audited unblurs and clear previews, the industry classification from
the reviewers' category, the flags from their votes, times from the service's context.
All steps are audited.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vigil.actions.reports import cybertip
from vigil.actions.reports.client import ClearinghouseClient, SubmissionError, Upload
from vigil.core.actor import Actor, Permission
from vigil.core.clock import aware, utcnow
from vigil.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from vigil.core.states import ReviewStatus, SubmissionStatus
from vigil.review import categories
from vigil.review.context import validate as validate_context
from vigil.review.domain import file_views
from vigil.review.evidence import Vault
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import ReportFile, ReviewItem, Submission
from vigil.store.repo import evidence as evidence_repo
from vigil.store.repo import reports as repo
from vigil.store.repo import review as review_repo
from vigil.store.sealed import blind_index

PLACEHOLDER_REPORT_ID, PLACEHOLDER_FILE_ID = "0", "pending"  # ids the clearinghouse assigns on submit
RESENDABLE = (*repo.EDITABLE, SubmissionStatus.FAILED, SubmissionStatus.RETRACTED)
RESUME_AFTER = timedelta(minutes=10)  # a submission without progress this long counts as interrupted


@dataclass(frozen=True)
class ReportSettings:
    """Who reports, and where to: the reporting person in every report and the clearinghouse API."""

    reporter_email: str = "trust-and-safety@example.org"
    reporter_name: tuple[str, str] = ("", "")
    clearinghouse_url: str | None = None
    clearinghouse_user: str = ""
    clearinghouse_password: str = ""

    @classmethod
    def from_env(cls) -> ReportSettings:
        """$VIGIL_REPORTER_EMAIL, $VIGIL_CLEARINGHOUSE_URL, _USER and _PASSWORD (the CLI and the service)."""
        env = os.environ.get
        return cls(
            reporter_email=env("VIGIL_REPORTER_EMAIL") or cls.reporter_email,
            clearinghouse_url=env("VIGIL_CLEARINGHOUSE_URL") or None,
            clearinghouse_user=env("VIGIL_CLEARINGHOUSE_USER", ""),
            clearinghouse_password=env("VIGIL_CLEARINGHOUSE_PASSWORD", ""),
        )


def _may_report(actor: Actor) -> None:
    if not actor.can(Permission.REPORT):
        raise Forbidden(f"role {actor.role} cannot draft or send clearinghouse reports")


def account_key(context: dict[str, Any]) -> str | None:
    """Who the report is about, as one keyed digest (no plaintext identifier in the database): the
    service's id, else screen name, else first e-mail."""
    account = context.get("account") or {}
    for kind, value in (
        ("id", context.get("uploader") or account.get("id")),
        ("screen_name", account.get("screen_name")),
        ("email", (account.get("emails") or [None])[0]),
    ):
        if value:
            return blind_index(f"{kind}:{value}")
    return None


def _viewed(tx: Tx, item: ReviewItem) -> cybertip.Stated:
    views = file_views(tx, item.id)
    if not views:
        return cybertip.Stated(
            False,
            "no reviewer saw this file unblurred: the audit log holds no unblur, no clear preview and "
            f"no peek for review:{item.id}",
        )
    how = {"review.unblur": "unblurred", "review.peek": "a region shown clear"}
    seen = "; ".join(f"{v.actor} ({how.get(v.action, 'clear preview')}) {v.at}" for v in views)
    return cybertip.Stated(True, f"seen unblurred: {seen}")


def _event(raw: dict[str, Any]) -> cybertip.IpEvent:
    return cybertip.IpEvent(
        raw["ipAddress"], raw.get("dateTime"), raw.get("port"), raw.get("eventName"), raw.get("possibleProxy")
    )


def _upload_time(context: dict[str, Any]) -> str | None:
    uploads = [
        e["dateTime"]
        for e in context.get("ip_events", [])
        if e.get("eventName") == "Upload" and e.get("dateTime")
    ]
    return context.get("uploaded_at") or (min(uploads, key=datetime.fromisoformat) if uploads else None)


def _file(tx: Tx, item: ReviewItem, context: dict[str, Any]) -> cybertip.ReportedFile:
    evidence = evidence_repo.for_item(tx, item.id)
    code, code_why = categories.industry_classification(item.category_scheme, item.category)
    label = (
        categories.SCHEMES.get(item.category_scheme).labels[item.category]
        if item.category_scheme and item.category
        else ""
    )
    uploads = [e for e in context.get("ip_events", []) if e.get("eventName") == "Upload"]
    flags = item.flags or {}
    return cybertip.ReportedFile(
        name=context.get("file_name")
        or (item.reason or {}).get("name")
        or (Path(item.path).name if item.path else None),
        hashes={"MD5": evidence.md5, "SHA256": evidence.sha256}
        if evidence
        else {"MD5": item.md5 or "", "SHA256": item.sha256},
        viewed=_viewed(tx, item),
        preserved=evidence is not None,
        publicly_available=flags.get("publicly_available"),
        potential_meme=flags.get("potential_meme"),
        classification=code,
        classification_why=code_why,
        category=f"{item.category_scheme} {item.category} ({label})" if label else None,
        uploaded_at=_upload_time(context),
        location=context.get("image_url") or (context.get("urls") or [None])[0],
        upload_event=_event(uploads[0]) if uploads else None,
    )


def compose(
    tx: Tx, items: list[ReviewItem], settings: ReportSettings, prior: list[str]
) -> cybertip.ReportInput:
    """The report for these items (all about one user, or one item): what Vigil recorded, nothing more."""
    contexts = [validate_context(item.context or {}, f"review item {item.id} context") for item in items]
    first = contexts[0]
    account = first.get("account") or {}
    events, seen = [], set()
    for context in contexts:
        for raw in context.get("ip_events", []):
            key = (raw["ipAddress"], raw.get("dateTime"), raw.get("port"), raw.get("eventName"))
            if key not in seen:
                seen.add(key)
                events.append(_event(raw))
    user = cybertip.ReportedUser(
        esp_identifier=first.get("uploader") or account.get("id"),
        screen_name=account.get("screen_name"),
        display_name=account.get("display_name"),
        emails=list(account.get("emails", [])),
        phones=list(account.get("phones", [])),
        country=first.get("country") or account.get("country"),
        ip_events=events,
        device_ids=[
            cybertip.DeviceId(d["idType"], d["idValue"], d.get("eventName"), d.get("dateTime"))
            for d in first.get("device_ids", [])
        ],
        prior_reports=prior,
    )
    files = [_file(tx, item, context) for item, context in zip(items, contexts, strict=True)]
    uploaded = [f.uploaded_at for f in files if f.uploaded_at]
    if uploaded:
        when = min(uploaded, key=datetime.fromisoformat)
        why = "upload time given by the service"
    else:
        when = min(aware(item.created_at) for item in items).isoformat()
        why = "when Vigil observed the file and queued it for review; the service gave no upload time"
    urls = list(dict.fromkeys(u for c in contexts for u in c.get("urls", []) + c.get("pages", [])))
    return cybertip.ReportInput(
        incident_time=when,
        incident_time_why=why,
        reporter_email=settings.reporter_email,
        reporter_name=settings.reporter_name,
        urls=urls,
        user=user if user.to_xsd() else None,
        files=files,
    )


def _validated(data: cybertip.ReportInput) -> str:
    """The report's XML; every file's details are checked too (with placeholder ids) before storing."""
    xml = cybertip.report_xml(data)
    for f in data.files:
        cybertip.file_details_xml(PLACEHOLDER_REPORT_ID, PLACEHOLDER_FILE_ID, f)
    return xml


def view(tx: Tx, submission: Submission, data: cybertip.ReportInput | None = None) -> dict[str, Any]:
    """A report as an analyst sees it: status, the XML, and why each legal statement says what it says.

    The explanations are recomputed from the record now; for a sent report, `xml` and
    `sent_file_details` are exactly what went to the clearinghouse.
    """
    items = repo.items(tx, submission.id)
    out: dict[str, Any] = {
        "report_id": submission.id,
        "status": submission.status.value,
        "remote_id": submission.remote_id,
        "failure": submission.failure,
        "items": [i.id for i in items],
        "xml": submission.report_xml,
        "actionability": submission.actionability,
        "sent_file_details": [f.details_xml for f in repo.files(tx, submission.id) if f.details_xml],
    }
    if data is not None:
        out["incident_time"] = {"value": data.incident_time, "why": data.incident_time_why}
        out["prior_reports"] = data.user.prior_reports if data.user else []
        out["files"] = [
            {
                "item": item.id,
                "name": f.name,
                "fileViewedByEsp": {"value": f.viewed.value, "why": f.viewed.why},
                "industryClassification": {"value": f.classification, "why": f.classification_why},
                "publiclyAvailable": f.publicly_available,
                "potentialMeme": f.potential_meme,
                "preserved": f.preserved,
            }
            for item, f in zip(items, data.files, strict=True)
        ]
    return out


def _refresh(tx: Tx, submission: Submission, settings: ReportSettings) -> cybertip.ReportInput:
    items = repo.items(tx, submission.id)
    prior = repo.finished_for_account(tx, submission.account_key) if submission.account_key else []
    data = compose(tx, items, settings, prior)
    submission.report_xml = _validated(data)  # raises SchemaInvalid: the transaction stores nothing
    submission.actionability = cybertip.actionability(data)
    submission.validated_at = submission.updated_at = utcnow()
    return data


def draft(store: Store, actor: Actor, item_id: int, settings: ReportSettings) -> dict[str, Any]:
    """The report for a confirmed item: new, joined to the open report about the same user, or
    (if the item is already in a report) that report, re-validated while it is unsent."""
    _may_report(actor)
    with store.transaction() as tx:
        item = review_repo.item(tx, item_id)
        if item is None or item.status != ReviewStatus.CONFIRMED:
            raise Conflict("only confirmed items are reported")
        placed = repo.file_of_item(tx, item_id)
        if placed is not None:
            submission = repo.submission(tx, placed.submission_id, for_update=True)
            assert submission is not None
            if submission.status not in RESENDABLE:
                return view(tx, submission)
        else:
            key = account_key(validate_context(item.context or {}, f"review item {item.id} context"))
            submission = repo.editable_for_account(tx, key) if key else None
            if submission is None:
                submission = Submission(
                    review_item_id=item_id, account_key=key, report_xml="", idempotency_key=uuid.uuid4().hex
                )
                tx.add(submission)
                tx.flush()
            tx.add(ReportFile(submission_id=submission.id, review_item_id=item_id))
            tx.flush()
        if submission.status in (SubmissionStatus.FAILED, SubmissionStatus.RETRACTED):
            submission.idempotency_key = uuid.uuid4().hex  # a new attempt, not a replay of the failed one
        data = _refresh(tx, submission, settings)
        submission.status, submission.failure = SubmissionStatus.VALIDATED, None
        audit.record(
            tx,
            actor,
            "report.draft",
            f"report:{submission.id}",
            {
                "item": item_id,
                "items": [f.review_item_id for f in repo.files(tx, submission.id)],
                "score": submission.actionability["score"],
                "viewed": [f.viewed.value for f in data.files],
            },
        )
        return view(tx, submission, data)


def compose_for_item(store: Store, item_id: int, settings: ReportSettings) -> cybertip.ReportInput:
    """What the report holding this item (or, before drafting, the item alone) would say now."""
    with store.session() as tx:
        placed = repo.file_of_item(tx, item_id)
        item = review_repo.item(tx, item_id)
        if item is None:
            raise NotFound(f"no review item {item_id}")
        submission = repo.submission(tx, placed.submission_id) if placed else None
        items = repo.items(tx, submission.id) if submission else [item]
        key = submission.account_key if submission else None
        return compose(tx, items, settings, repo.finished_for_account(tx, key) if key else [])


def show(store: Store, report_id: int, settings: ReportSettings) -> dict[str, Any]:
    with store.session() as tx:
        submission = repo.submission(tx, report_id)
        if submission is None:
            raise NotFound(f"no report {report_id}")
        items = repo.items(tx, report_id)
        prior = repo.finished_for_account(tx, submission.account_key) if submission.account_key else []
        data = compose(tx, items, settings, prior) if items else None
        return view(tx, submission, data)


def listing(store: Store) -> list[dict[str, Any]]:
    with store.session() as tx:
        return [
            {
                "report_id": s.id,
                "status": s.status.value,
                "remote_id": s.remote_id,
                "items": [f.review_item_id for f in repo.files(tx, s.id)],
                "score": (s.actionability or {}).get("score"),
                "actionable": (s.actionability or {}).get("actionable"),
                "failure": s.failure,
                "updated_at": s.updated_at.isoformat() if s.updated_at else None,
            }
            for s in repo.all_submissions(tx)
        ]


def _claim(
    tx: Tx, actor: Actor, report_id: int, settings: ReportSettings, vault: Vault
) -> tuple[Submission, list[Upload]]:
    submission = repo.submission(tx, report_id, for_update=True)
    if submission is None:
        raise NotFound(f"no report {report_id}")
    stale = submission.status == SubmissionStatus.SUBMITTED and (
        utcnow() - aware(submission.updated_at or submission.created_at) > RESUME_AFTER
    )
    if submission.status not in repo.EDITABLE and not stale:
        raise Conflict(
            f"report {report_id} is {submission.status.value}"
            + (f" (clearinghouse id {submission.remote_id})" if submission.remote_id else "")
            + ("; draft it again to retry" if submission.status in RESENDABLE else "")
        )
    data = _refresh(tx, submission, settings)
    uploads = []
    for item, described in zip(repo.items(tx, report_id), data.files, strict=True):
        evidence = evidence_repo.for_item(tx, item.id)
        if evidence is not None:
            name = described.name or f"item-{item.id}"
            uploads.append(Upload(name, vault.read(tx, evidence.id, actor), described, item.id))
    submission.status, submission.failure = SubmissionStatus.SUBMITTED, None
    audit.record(
        tx, actor, "report.sending", f"report:{report_id}", {"files": len(uploads), "resumed": stale}
    )
    return submission, uploads


def submit(
    store: Store, actor: Actor, report_id: int, vault: Vault, settings: ReportSettings
) -> dict[str, Any]:
    """Send a validated report and its evidence; a failure is recorded with its reason and re-raised.

    The report is composed and validated again just before sending, so what goes out matches what
    the audit log says was known then. Status moves validated -> submitted (committed before the
    first request) -> finished, or failed / retracted with the reason. A submission interrupted
    for longer than RESUME_AFTER may be sent again; it reuses its idempotency key.
    """
    _may_report(actor)
    if not settings.clearinghouse_url:
        raise Conflict("no clearinghouse configured")
    with store.transaction() as tx:
        submission, uploads = _claim(tx, actor, report_id, settings, vault)
        report_xml, key = submission.report_xml, submission.idempotency_key

    def opened(remote_id: str) -> None:
        with store.transaction() as tx:
            row = repo.submission(tx, report_id, for_update=True)
            assert row is not None
            row.remote_id, row.updated_at = remote_id, utcnow()
            audit.record(tx, actor, "report.opened", f"report:{report_id}", {"remote_id": remote_id})

    client = ClearinghouseClient(
        settings.clearinghouse_url, settings.clearinghouse_user, settings.clearinghouse_password
    )
    failure: SubmissionError | None = None
    try:
        sent = client.submit(report_xml, uploads, key, on_opened=opened)
    except SubmissionError as exc:
        failure = exc
    with store.transaction() as tx:
        row = repo.submission(tx, report_id, for_update=True)
        assert row is not None
        if failure is not None:
            retracted = failure.retracted
            row.status = SubmissionStatus.RETRACTED if retracted else SubmissionStatus.FAILED
            row.failure = str(failure)
            audit.record(tx, actor, "report.failed", f"report:{report_id}", {"error": str(failure)})
        else:
            row.remote_id, row.status, row.failure = sent.report_id, SubmissionStatus.FINISHED, None
            for upload, file_id, details in zip(uploads, sent.file_ids, sent.details, strict=True):
                placed = repo.file_of_item(tx, upload.item_id)
                assert placed is not None
                placed.remote_file_id, placed.details_xml = file_id, details
            audit.record(
                tx,
                actor,
                "report.submit",
                f"report:{report_id}",
                {"remote_id": sent.report_id, "files": sent.file_ids},
            )
        row.updated_at = utcnow()
        result = {"status": row.status.value, "remote_id": row.remote_id, "failure": row.failure}
    if failure is not None:
        raise failure
    return result


def retract(
    store: Store, actor: Actor, report_id: int, settings: ReportSettings, reason: str
) -> dict[str, Any]:
    """Withdraw a report the clearinghouse opened but never finished (a finished report is the
    clearinghouse's to withdraw); the reason is audited."""
    _may_report(actor)
    if not reason.strip():
        raise InvalidInput("say why the report is retracted")
    with store.session() as tx:
        row = repo.submission(tx, report_id)
        if row is None:
            raise NotFound(f"no report {report_id}")
        remote_id, status, key = row.remote_id, row.status, row.idempotency_key
    if remote_id is None or status not in (SubmissionStatus.SUBMITTED, SubmissionStatus.FAILED):
        raise Conflict(
            f"report {report_id} is {status.value}: only a report opened at the clearinghouse and not "
            "finished can be retracted here"
        )
    if not settings.clearinghouse_url:
        raise Conflict("no clearinghouse configured")
    client = ClearinghouseClient(
        settings.clearinghouse_url, settings.clearinghouse_user, settings.clearinghouse_password
    )
    client.retract(remote_id, key)
    with store.transaction() as tx:
        row = repo.submission(tx, report_id, for_update=True)
        assert row is not None
        row.status, row.updated_at = SubmissionStatus.RETRACTED, utcnow()
        audit.record(
            tx,
            actor,
            "report.retract",
            f"report:{report_id}",
            {"remote_id": remote_id, "reason": reason.strip()},
        )
    return {"status": SubmissionStatus.RETRACTED.value, "remote_id": remote_id}
