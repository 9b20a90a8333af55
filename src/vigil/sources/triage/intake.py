"""Report bundles in: CyberTipline-style XML or JSON, one report per bundle (or per JSON line).

A bundle with problems is rejected whole, with every reason listed, and the others go on. Formats
plug in through REPORT_FORMATS.
"""

from __future__ import annotations

import ipaddress
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil.core.errors import InvalidInput, ItemError
from vigil.core.registry import Registry
from vigil.signals.types import HASH_TYPES
from vigil.sources.triage.model import IncomingReport, IpEvent, ReportFile

ESCALATIONS = ("imminent_danger", "ongoing_abuse", "contact_offence", "production", "sextortion")


class BundleError(InvalidInput):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class Intake:
    reports: list[IncomingReport] = field(default_factory=list)
    rejected: list[ItemError] = field(default_factory=list)


class _Checker:
    """Collects every problem in a bundle so the sender can fix them in one go."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def time(self, text: str | None, what: str) -> datetime | None:
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            self.reasons.append(f"{what}: not an ISO date-time: {text[:40]!r}")
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def ip(self, text: str | None, when: str | None, port: Any, event: str) -> IpEvent | None:
        try:
            address = str(ipaddress.ip_address((text or "").strip()))
        except ValueError:
            self.reasons.append(f"not an IP address: {str(text)[:45]!r}")
            return None
        try:
            number = int(port) if port not in (None, "") else None
        except (TypeError, ValueError):
            self.reasons.append(f"port is not a number: {port!r}")
            number = None
        return IpEvent(address, self.time(when, f"IP event {address}"), number, event)

    def hashes(self, raw: dict[str, str]) -> dict[str, str]:
        out = {}
        for kind, value in raw.items():
            try:
                hash_type = HASH_TYPES.get(kind)
                out[hash_type.name] = hash_type.normalize(value)
            except (KeyError, ValueError) as exc:
                self.reasons.append(str(exc).strip("\"'"))
        return out

    def done(self, report: IncomingReport) -> IncomingReport:
        if not report.report_id:
            self.reasons.append("no report id")
        if not (report.accounts or report.emails or report.ip_events or report.files):
            self.reasons.append("names no account, e-mail, IP or file")
        for flag in report.flags:
            if flag not in ESCALATIONS:
                self.reasons.append(f"unknown escalation flag {flag!r} (known: {', '.join(ESCALATIONS)})")
        if self.reasons:
            raise BundleError(self.reasons)
        return report


REPORT_FORMATS: Registry[Callable[[bytes, str], IncomingReport]] = Registry("report format")


@REPORT_FORMATS.register("json")
def parse_json(data: bytes, source: str) -> IncomingReport:
    """{"reportId", "esp", "incident": {"type","dateTime"}, "reported": {...}, "files": [...], "flags"}."""
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict):
            raise BundleError(["a JSON bundle must be an object"])
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError([f"not JSON: {exc}"]) from None
    check = _Checker()
    incident = raw.get("incident") or {}
    reported = raw.get("reported") or {}
    try:
        events = [
            check.ip(e.get("ip"), e.get("dateTime"), e.get("port"), e.get("event", ""))
            for e in reported.get("ipEvents", [])
        ]
        files = [
            ReportFile(
                f.get("name"),
                check.hashes({k: f[k] for k in f if k in HASH_TYPES}),
                bool(f.get("attached", False)),
                bool(f.get("viewed", False)),
                f.get("category"),
            )
            for f in raw.get("files", [])
        ]
        report = IncomingReport(
            report_id=str(raw.get("reportId") or ""),
            source=source,
            incident_time=check.time(incident.get("dateTime"), "incident time"),
            incident_type=str(incident.get("type", "")),
            esp=str(raw.get("esp", "")),
            accounts=[str(a) for a in reported.get("accounts", []) + reported.get("screenNames", [])],
            emails=[str(e).strip().lower() for e in reported.get("emails", [])],
            ip_events=[e for e in events if e is not None],
            files=files,
            country=(reported.get("country") or None),
            flags=list(raw.get("flags", [])),
            notes=str(raw.get("notes", "")),
        )
    except (AttributeError, TypeError) as exc:
        raise BundleError([f"unexpected structure: {exc}"]) from None
    return check.done(report)


@REPORT_FORMATS.register("xml")
def parse_xml(data: bytes, source: str) -> IncomingReport:
    """<report id> as Vigil writes it (cybertip.report_xml), with <fileDetails> children and <escalate>."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BundleError([f"not well-formed XML: {exc}"]) from None
    report_el = root if root.tag == "report" else root.find("report")
    if report_el is None:
        raise BundleError([f"no <report> element (root is <{root.tag}>)"])
    check = _Checker()
    person = report_el.find("personOrUserReported")
    accounts, emails, events = [], [], []
    country = None
    if person is not None:
        accounts = [t for t in (person.findtext("espIdentifier"), person.findtext("screenName")) if t]
        emails = [e.text.strip().lower() for e in person.findall("email") if e.text]
        country = person.findtext("address/country")
        for ev in person.findall("ipCaptureEvent"):
            events.append(
                check.ip(
                    ev.findtext("ipAddress"),
                    ev.findtext("dateTime"),
                    ev.findtext("port"),
                    ev.findtext("eventName") or "",
                )
            )
    files = []
    for fd in root.iter("fileDetails"):
        hashes = {h.get("hashType", ""): (h.text or "") for h in fd.findall("originalFileHash")}
        info = fd.findtext("additionalInfo") or ""
        category = info.split(":", 1)[1].strip() if info.startswith("Reviewer category:") else None
        files.append(
            ReportFile(
                fd.findtext("originalFileName"),
                check.hashes(hashes),
                (fd.findtext("fileIncluded") or "").lower() == "true",
                (fd.findtext("fileViewedByEsp") or "").lower() == "true",
                category,
            )
        )
    report = IncomingReport(
        report_id=report_el.get("id") or root.get("id") or "",
        source=source,
        incident_time=check.time(report_el.findtext("incidentSummary/incidentDateTime"), "incident time"),
        incident_type=report_el.findtext("incidentSummary/incidentType") or "",
        esp=report_el.findtext("reporter/espName") or "",
        accounts=accounts,
        emails=emails,
        ip_events=[e for e in events if e is not None],
        files=files,
        country=country,
        flags=[e.text.strip() for e in report_el.iter("escalate") if e.text],
        notes=report_el.findtext("additionalInfo") or "",
    )
    return check.done(report)


def _units(paths: Iterable[Path]) -> Iterator[tuple[str, str, bytes]]:
    """(where, format, bytes) per bundle: files in folders, and each line of a .jsonl file."""
    for path in paths:
        if path.is_dir():
            yield from _units(
                sorted(p for p in path.rglob("*") if p.suffix.lower() in (".xml", ".json", ".jsonl"))
            )
        elif path.suffix.lower() == ".jsonl":
            with path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield f"{path.name}:{number}", "json", line
        else:
            yield path.name, "xml" if path.suffix.lower() == ".xml" else "json", path.read_bytes()


def read_bundles(paths: Iterable[Path]) -> Intake:
    out = Intake()
    for where, fmt, data in _units(paths):
        try:
            out.reports.append(REPORT_FORMATS.get(fmt)(data, where))
        except BundleError as exc:
            out.rejected.append(ItemError(where, str(exc)))
    return out
