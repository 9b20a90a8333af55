"""Feedback to reporting services: per service and period, how many reports a unit could act on.

Services that report to a clearinghouse rarely learn which of their reports police could use. This
sheet gives them that, from the unit's own intake and with counts only (no case data, no report
ids): reports received, how many were actionable (usable IP with time, user identifier, file and
location), how many had the age of the depicted person in doubt, and how often each field was
missing. A unit can send each service its own rows.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vigil.actions.reports.cybertip import CHECKS
from vigil.core.errors import InvalidInput
from vigil.sources.triage.assess import ReportAssessment

MISSING = (*(name for name, _, _ in CHECKS), "ip_shared")
PERIODS = ("month", "quarter", "year")
TIMES = ("received", "incident")


@dataclass
class ServiceFeedback:
    service: str
    period: str
    reports: int = 0
    actionable: int = 0
    age_in_doubt: int = 0
    with_problems: int = 0  # reports with values kept but unusable (an IP that is not an IP)
    missing: Counter[str] = field(default_factory=Counter)

    @property
    def share_actionable(self) -> float:
        return self.actionable / self.reports if self.reports else 0.0


def period_of(moment: datetime | None, period: str) -> str:
    if moment is None:
        return "unknown"
    if period == "month":
        return f"{moment.year}-{moment.month:02d}"
    if period == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return str(moment.year)


def feedback(
    assessments: Sequence[ReportAssessment], period: str = "quarter", by: str = "received"
) -> list[ServiceFeedback]:
    """One row per (service, period), sorted; `by` dates a report by when it was received or by
    the incident time the service gave."""
    if period not in PERIODS or by not in TIMES:
        raise InvalidInput(f"period is one of {', '.join(PERIODS)}; by is one of {', '.join(TIMES)}")
    rows: dict[tuple[str, str], ServiceFeedback] = {}
    for a in assessments:
        moment = a.report.received if by == "received" else a.report.incident_time
        key = (a.report.esp or "unknown", period_of(moment, period))
        row = rows.setdefault(key, ServiceFeedback(*key))
        row.reports += 1
        row.actionable += a.actionable
        row.age_in_doubt += a.age_in_doubt
        row.with_problems += bool(a.report.problems)
        row.missing.update(m["item"] for m in a.missing)
    return [rows[k] for k in sorted(rows)]


def write_sheet(path: Path, rows: Sequence[ServiceFeedback]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "service",
                "period",
                "reports",
                "actionable",
                "share_actionable",
                "age_in_doubt",
                "with_unusable_values",
                *(f"missing_{name}" for name in MISSING),
            ]
        )
        for row in rows:
            writer.writerow(
                [
                    row.service,
                    row.period,
                    row.reports,
                    row.actionable,
                    f"{row.share_actionable:.3f}",
                    row.age_in_doubt,
                    row.with_problems,
                    *(row.missing[name] for name in MISSING),
                ]
            )
