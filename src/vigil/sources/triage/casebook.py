"""Reports and cases kept in the store, with case ids that survive re-runs as new reports arrive."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from vigil.core.errors import VigilError
from vigil.sources.triage.model import IncomingReport
from vigil.sources.triage.pipeline import TriageResult
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import TriageCase, TriageReport, utcnow


@dataclass
class ImportCount:
    added: int = 0
    already_known: int = 0


def import_reports(store: Store, reports: list[IncomingReport]) -> ImportCount:
    """Adds reports whose id is new; a re-sent bundle with a known id is counted, not stored twice."""
    out = ImportCount()
    with store.session() as session:
        ids = [r.report_id for r in reports]
        seen: set[str] = set()
        rows: list[dict[str, object]] = []
        now = utcnow()
        for start in range(0, len(ids), 900):
            seen |= set(
                session.scalars(
                    select(TriageReport.report_id).where(TriageReport.report_id.in_(ids[start : start + 900]))
                )
            )
        for r in reports:
            if r.report_id in seen:
                out.already_known += 1
                continue
            seen.add(r.report_id)
            rows.append(
                {"report_id": r.report_id, "source": r.source, "payload": r.as_json(), "imported_at": now}
            )
        if rows:
            session.execute(insert(TriageReport), rows)
        out.added = len(rows)
        session.commit()
    return out


def load_reports(store: Store) -> tuple[list[IncomingReport], list[int | None]]:
    """All stored reports in import order, with the case each was in after the last run."""
    with store.session() as session:
        rows = session.execute(
            select(TriageReport.payload, TriageReport.case_id).order_by(TriageReport.id)
        ).all()
    return [IncomingReport.from_json(p) for p, _ in rows], [c for _, c in rows]


def open_cases_before(result_cases: list[list[int]], previous: list[int | None], store: Store) -> set[int]:
    """Case indices that continue a case already open before this run and that received new reports."""
    with store.session() as session:
        open_ids = set(session.scalars(select(TriageCase.id).where(TriageCase.status == "open")))
    return {
        i
        for i, members in enumerate(result_cases)
        if any(previous[m] in open_ids for m in members) and any(previous[m] is None for m in members)
    }


def save_run(
    store: Store, reports: list[IncomingReport], previous: list[int | None], result: TriageResult
) -> dict[int, int]:
    """Stores case membership and priority; returns case index -> stable case id."""
    ids: dict[int, int] = {}
    with store.session() as session:
        cases = {c.id: c for c in session.scalars(select(TriageCase))}
        taken: set[int] = set()
        fresh: dict[int, TriageCase] = {}
        for index, members in enumerate(result.linked.cases):
            votes = Counter(previous[m] for m in members if previous[m] is not None)
            keep = next((cid for cid, _ in votes.most_common() if cid not in taken and cid in cases), None)
            if keep is None:
                fresh[index] = TriageCase(status="open")
                continue
            taken.add(keep)
            ids[index] = keep
            for absorbed in votes:
                if absorbed is not None and absorbed != keep and absorbed not in taken:
                    cases[absorbed].status, cases[absorbed].merged_into = "merged", keep
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
        row_ids = list(session.scalars(select(TriageReport.id).order_by(TriageReport.id)))
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
        session.execute(update(TriageReport), updates)  # bulk UPDATE by primary key
        session.commit()
    return ids


def close_case(store: Store, case_id: int, actor: str, reason: str) -> None:
    """Closing takes a person and a reason, and is audited in the same transaction."""
    with store.session() as session:
        case = session.get(TriageCase, case_id)
        if case is None or case.status != "open":
            raise VigilError(f"no open case {case_id}")
        case.status, case.closed_at = "closed", utcnow()
        audit.record(session, actor, "triage.case_closed", str(case_id), {"reason": reason})
        session.commit()
