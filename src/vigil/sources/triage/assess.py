"""Per-report completeness and jurisdiction, and a priority per case with its reasons shown.

Completeness reuses the outgoing-report checks (vigil.actions.reports.cybertip.score), so Vigil judges
incoming reports by the same yardstick it applies to its own: who, where and when, and what. Besides
the weighted score each report gets a yes/no `actionable` verdict (a usable IP with its time, a user
identifier, the file, a location: all four) and an `age_in_doubt` flag, the two facts a unit needs
to count the share of reports it can import, per reporting service.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vigil.actions.reports.cybertip import score
from vigil.sources.triage.ipinfo import RangeTable
from vigil.sources.triage.linking import Linked
from vigil.sources.triage.model import IncomingReport, IpEvent, ReportFile

# Severity by category (scheme:code); the most severe file of a case counts.
SEVERITY = {
    k.lower(): v
    for k, v in {
        "ncmec:A1": 30,
        "caid:A": 30,
        "ncmec:B1": 25,
        "ncmec:A2": 20,
        "caid:B": 20,
        "projectvic:1": 20,
        "ncmec:B2": 15,
        "caid:C": 10,
        "projectvic:2": 5,
    }.items()
}
ESCALATION_POINTS = 40
NEW_MATERIAL_POINTS = 25
KNOWN_ONLY_POINTS = 5


@dataclass(frozen=True)
class FileStatus:
    known: bool
    category: str | None = None  # from the list that knows it
    lists: tuple[str, ...] = ()


# Answers, per file, whether it is on a known list (and its category): Matcher-backed or a test double.
KnownLookup = Callable[[Sequence[ReportFile]], list[FileStatus]]


@dataclass
class ReportAssessment:
    report: IncomingReport
    actionability: int
    missing: list[dict[str, str]]
    jurisdiction: str | None
    shared_ips: list[str]
    files: list[FileStatus]
    actionable: bool = False
    age_in_doubt: bool = False
    age_why: str = ""


@dataclass
class CasePriority:
    case: int
    score: float
    parts: dict[str, float]
    reports: list[int]
    reasons: list[str] = field(default_factory=list)


def assess_report(
    report: IncomingReport, files: list[FileStatus], geo: RangeTable | None, shared: RangeTable | None
) -> ReportAssessment:
    usable: list[IpEvent] = []
    shared_ips: list[str] = []
    for e in report.ip_events:
        if e.possible_proxy or (shared is not None and shared.lookup(e.ip)):
            shared_ips.append(e.ip)
        else:
            usable.append(e)
    countries = Counter(
        info["country"]
        for e in usable
        if geo is not None and (info := geo.lookup(e.ip)) and info.get("country")
    )
    hint = report.country or (countries.most_common(1)[0][0] if countries else None)
    result = score(
        {
            "ip_with_time": any(e.time is not None for e in usable),
            "file": any(f.attached for f in report.files),
            "user_identifiers": bool(report.accounts or report.emails),
            "location": bool(hint),
            "file_viewed": any(f.viewed for f in report.files),
        }
    )
    missing = list(result["missing"])
    if shared_ips and not usable:
        missing.append(
            {
                "item": "ip_shared",
                "add": "a subscriber-level IP: every address given is VPN, "
                "hosting or carrier-grade NAT (ask for source port and exact time)",
            }
        )
    doubt, why = age_in_doubt(report.files, files)
    return ReportAssessment(
        report, int(result["score"]), missing, hint, shared_ips, files, bool(result["actionable"]), doubt, why
    )


PREPUBESCENT = {"ncmec:a1", "ncmec:a2"}
AGE_DIFFICULT = {"ncmec:b1", "ncmec:b2", "projectvic:2"}


def age_in_doubt(reported: Sequence[ReportFile], statuses: Sequence[FileStatus]) -> tuple[bool, str]:
    """Whether the depicted person's age may need establishing before a unit can act.

    Not in doubt when any file is classified prepubescent (by the service or by a list that knows
    it); in doubt when the files are classified pubescent or "age difficult", or carry no age
    classification at all. A report without files has nothing to doubt.
    """
    if not reported:
        return False, "no files"
    found = {(c or "").lower() for c in [f.category for f in reported] + [s.category for s in statuses] if c}
    if found & PREPUBESCENT:
        return False, "a file is classified prepubescent"
    if found & AGE_DIFFICULT:
        return True, "files are classified pubescent or age difficult: " + ", ".join(
            sorted(found & AGE_DIFFICULT)
        )
    return True, "no file carries an age classification"


def prioritise(
    assessments: Sequence[ReportAssessment], linked: Linked, open_before: set[int] | None = None
) -> list[CasePriority]:
    """Highest first. `open_before`: cases that were already open before these reports came in."""
    out = []
    for case, members in enumerate(linked.cases):
        canon = [assessments[i] for i in members if i not in linked.duplicate_of]
        statuses = [s for a in canon for s in a.files]
        categories = [f.category for a in canon for f in a.report.files] + [s.category for s in statuses]
        parts = {
            "severity": float(max((SEVERITY.get((c or "").lower(), 0) for c in categories), default=0)),
            "new_material": float(
                NEW_MATERIAL_POINTS
                if any(not s.known for s in statuses)
                else KNOWN_ONLY_POINTS
                if statuses
                else 0
            ),
            "actionability": 0.2 * max(a.actionability for a in canon),
            "linked_reports": float(min(15, 5 * (len(canon) - 1))),
            "open_case": 10.0 if open_before and case in open_before else 0.0,
            "escalation": float(ESCALATION_POINTS if any(a.report.flags for a in canon) else 0),
        }
        reasons = sorted({f for a in canon for f in a.report.flags})
        out.append(CasePriority(case, sum(parts.values()), parts, members, reasons))
    out.sort(key=lambda c: (-c.score, c.case))
    return out
