"""One triage pass over a set of reports: list matching, completeness, linking, priority."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigil.match.matcher import Matcher
from vigil.match.tiers import Tier
from vigil.signals.compute import FileSignals
from vigil.sources.triage.assess import (
    CasePriority,
    FileStatus,
    KnownLookup,
    ReportAssessment,
    assess_report,
    prioritise,
)
from vigil.sources.triage.ipinfo import RangeTable, shared_ranges
from vigil.sources.triage.linking import LinkConfig, Linked, link_reports
from vigil.sources.triage.model import IncomingReport, ReportFile


@dataclass
class TriageResult:
    assessments: list[ReportAssessment]
    linked: Linked
    queue: list[CasePriority]


def matcher_lookup(matcher: Matcher) -> KnownLookup:
    """Known-or-new per file through the same matcher scans use (exact hashes and PDQ radius)."""

    def lookup(files: Sequence[ReportFile]) -> list[FileStatus]:
        signals = []
        for f in files:
            pdq = f.hashes.get("pdq")
            signals.append(
                FileSignals(
                    f.name or "",
                    0,
                    f.hashes.get("md5", ""),
                    f.hashes.get("sha1", ""),
                    f.hashes.get("sha256", ""),
                    pdq=pdq,
                    pdq_quality=100 if pdq else None,
                )
            )
        out = []
        for result in matcher.match(signals):
            # "known" goes into a case summary for police: a weak match (a lead for review) is not that
            matches = [m for m in result.matches if m.tier != Tier.WEAK]
            sources = [s for m in matches for s in m.sources]
            category = next((s.category for s in sources if s.category), None)
            out.append(FileStatus(bool(matches), category, tuple(sorted({s.list_name for s in sources}))))
        return out

    return lookup


def run_triage(
    reports: Sequence[IncomingReport],
    known: KnownLookup,
    *,
    geo: RangeTable | None = None,
    shared: RangeTable | None = None,
    config: LinkConfig | None = None,
    open_before: set[int] | None = None,
    match_files: bool = True,
) -> TriageResult:
    """`match_files=False` skips the list lookup (every file counts as unknown): for counts that
    do not depend on lists, such as the feedback sheet."""
    shared = shared if shared is not None else shared_ranges()
    all_files = [f for r in reports for f in r.files]
    statuses = iter(known(all_files) if all_files and match_files else [])
    assessments = [
        assess_report(r, [next(statuses, FileStatus(False)) for _ in r.files], geo, shared) for r in reports
    ]
    linked = link_reports(reports, shared, config)
    return TriageResult(assessments, linked, prioritise(assessments, linked, open_before))
