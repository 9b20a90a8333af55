"""Queries for clearinghouse reports and the items (files) each one carries."""

from __future__ import annotations

from sqlalchemy import select

from vigil.core.states import SubmissionStatus
from vigil.store.db import Tx
from vigil.store.models import ReportFile, ReviewItem, Submission

EDITABLE = (SubmissionStatus.DRAFT, SubmissionStatus.VALIDATED)  # not yet sent: files may be added


def submission(tx: Tx, report_id: int, *, for_update: bool = False) -> Submission | None:
    return tx.get(Submission, report_id, with_for_update=for_update)


def all_submissions(tx: Tx) -> list[Submission]:
    return list(tx.scalars(select(Submission).order_by(Submission.id)))


def for_item(tx: Tx, review_item_id: int) -> list[Submission]:
    query = select(Submission).where(Submission.review_item_id == review_item_id).order_by(Submission.id)
    return list(tx.scalars(query))


def file_of_item(tx: Tx, review_item_id: int) -> ReportFile | None:
    return tx.scalars(select(ReportFile).where(ReportFile.review_item_id == review_item_id)).first()


def files(tx: Tx, report_id: int) -> list[ReportFile]:
    query = select(ReportFile).where(ReportFile.submission_id == report_id).order_by(ReportFile.id)
    return list(tx.scalars(query))


def items(tx: Tx, report_id: int) -> list[ReviewItem]:
    query = (
        select(ReviewItem)
        .join(ReportFile, ReportFile.review_item_id == ReviewItem.id)
        .where(ReportFile.submission_id == report_id)
        .order_by(ReportFile.id)
    )
    return list(tx.scalars(query))


def editable_for_account(tx: Tx, account_key: str) -> Submission | None:
    """The not-yet-sent report about this user, which a newly confirmed file of theirs joins."""
    query = (
        select(Submission)
        .where(Submission.account_key == account_key, Submission.status.in_(EDITABLE))
        .order_by(Submission.id)
        .limit(1)
        .with_for_update()
    )
    return tx.scalars(query).first()


def finished_for_account(tx: Tx, account_key: str) -> list[str]:
    """Clearinghouse ids of reports already finished about this user (cited as prior reports)."""
    query = (
        select(Submission.remote_id)
        .where(
            Submission.account_key == account_key,
            Submission.status == SubmissionStatus.FINISHED,
            Submission.remote_id.is_not(None),
        )
        .order_by(Submission.id)
    )
    return [r for r in tx.scalars(query) if r]
