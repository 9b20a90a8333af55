"""Reports and cases kept in the store, with case ids that survive re-runs as new reports arrive."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from vigil.core.actor import Actor
from vigil.core.clock import aware, utcnow
from vigil.core.errors import Conflict
from vigil.core.states import CaseStatus
from vigil.sources.triage.model import IncomingReport
from vigil.sources.triage.pipeline import TriageResult
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import TriageCase
from vigil.store.repo import triage as repo


@dataclass
class ImportCount:
    added: int = 0
    already_known: int = 0


def import_reports(
    store: Store, actor: Actor, reports: list[IncomingReport], rejected: int = 0
) -> ImportCount:
    """Adds reports whose id is new; a re-sent bundle with a known id is counted, not stored twice."""
    out = ImportCount()
    with store.transaction() as session:
        seen = repo.known_report_ids(session, [r.report_id for r in reports])
        rows: list[dict[str, object]] = []
        now = utcnow()
        for r in reports:
            if r.report_id in seen:
                out.already_known += 1
                continue
            seen.add(r.report_id)
            rows.append(
                {"report_id": r.report_id, "source": r.source, "payload": r.as_json(), "imported_at": now}
            )
        repo.add_reports(session, rows)
        out.added = len(rows)
        audit.record(
            session,
            actor,
            "triage.import",
            None,
            {"added": out.added, "already_known": out.already_known, "rejected": rejected},
        )
    return out


def load_reports(store: Store) -> tuple[list[IncomingReport], list[int | None]]:
    """All stored reports in import order, with the case each was in after the last run."""
    with store.session() as session:
        rows = repo.payloads(session)
    reports = []
    for payload, _, imported_at in rows:
        report = IncomingReport.from_json(payload)
        report.received = aware(imported_at)
        reports.append(report)
    return reports, [c for _, c, _ in rows]


def open_cases_before(result_cases: list[list[int]], previous: list[int | None], store: Store) -> set[int]:
    """Case indices that continue a case already open before this run and that received new reports."""
    with store.session() as session:
        open_ids = repo.open_case_ids(session)
    return {
        i
        for i, members in enumerate(result_cases)
        if any(previous[m] in open_ids for m in members) and any(previous[m] is None for m in members)
    }


def save_run(
    store: Store,
    actor: Actor,
    reports: list[IncomingReport],
    previous: list[int | None],
    result: TriageResult,
) -> dict[int, int]:
    """Stores case membership and priority (audited as `triage.run`); returns case index -> case id."""
    ids: dict[int, int] = {}
    with store.transaction() as session:
        cases = repo.cases(session)
        taken: set[int] = set()
        fresh: dict[int, TriageCase] = {}
        for index, members in enumerate(result.linked.cases):
            votes = Counter(previous[m] for m in members if previous[m] is not None)
            keep = next((cid for cid, _ in votes.most_common() if cid not in taken and cid in cases), None)
            if keep is None:
                fresh[index] = TriageCase(status=CaseStatus.OPEN)
                continue
            taken.add(keep)
            ids[index] = keep
            for absorbed in votes:
                if absorbed is not None and absorbed != keep and absorbed not in taken:
                    cases[absorbed].status, cases[absorbed].merged_into = CaseStatus.MERGED, keep
        session.add_all(fresh.values())
        session.flush()  # one batched INSERT for all new cases
        for index, case in fresh.items():
            ids[index], cases[case.id] = case.id, case
        for priority in result.queue:
            case = cases[ids[priority.case]]
            case.priority = priority.score
            case.summary = {
                "parts": priority.parts,
                "reasons": priority.reasons,
                "reports": len(priority.reports),
            }
        row_ids = repo.report_row_ids(session)
        case_of = result.linked.case_of()
        updates = []
        for i, row_id in enumerate(row_ids):
            dup = result.linked.duplicate_of.get(i)
            updates.append(
                {
                    "id": row_id,
                    "case_id": ids[case_of[i]],
                    "actionability": result.assessments[i].actionability,
                    "duplicate_of": reports[dup].report_id if dup is not None else None,
                }
            )
        repo.update_reports(session, updates)
        audit.record(
            session,
            actor,
            "triage.run",
            None,
            {"reports": len(reports), "cases": len(result.linked.cases), "new_cases": len(fresh)},
        )
    return ids


def close_case(store: Store, actor: Actor, case_id: int, reason: str) -> None:
    """Closing takes a person and a reason, and is audited in the same transaction."""
    with store.transaction() as session:
        case = session.get(TriageCase, case_id)
        if case is None or case.status != CaseStatus.OPEN:
            raise Conflict(f"no open case {case_id}")
        case.status, case.closed_at = CaseStatus.CLOSED, utcnow()
        audit.record(session, actor, "triage.case_closed", str(case_id), {"reason": reason})
