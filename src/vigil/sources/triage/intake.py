"""Report bundles in: NCMEC CyberTipline XML (the real schema) or Vigil's JSON, one report per bundle.

A bundle that is malformed (not well-formed, or refused by the XSD, or JSON that breaks its
format) is rejected whole, with every reason listed, and the others go on. A value that is only
semantically wrong inside a valid CyberTipline report (an "IP address" that is not one) does not
cost the report: it is kept verbatim, noted in `problems`, and not used. Formats plug in through
REPORT_FORMATS.
"""

from __future__ import annotations

import ipaddress
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from vigil.core import cybertipline
from vigil.core.errors import InvalidInput, ItemError
from vigil.core.registry import Registry
from vigil.signals.types import HASH_TYPES
from vigil.sources.triage.model import IncomingReport, IpEvent, ReportFile

ESCALATIONS = (
    "imminent_danger",
    "ongoing_abuse",
    "contact_offence",
    "production",
    "sextortion",
    "esp_high_priority",  # the service asked for high priority (escalateToHighPriority)
    "csam_solicitation",
    "sadistic_online_exploitation",
)
ANNOTATION_FLAGS = {  # CyberTipline reportAnnotations that escalate a report
    "sextortion": "sextortion",
    "csamSolicitation": "csam_solicitation",
    "sadisticOnlineExploitation": "sadistic_online_exploitation",
}


class BundleError(InvalidInput):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class Intake:
    reports: list[IncomingReport] = field(default_factory=list)
    rejected: list[ItemError] = field(default_factory=list)


class _Checker:
    """Collects every problem in a bundle so the sender can fix them in one go.

    Strict (Vigil's JSON): a bad value rejects the bundle. Lenient (a schema-valid CyberTipline
    report): a bad value is kept in `problems` and left unused, and the report goes on.
    """

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.reasons: list[str] = []
        self.problems: list[str] = []

    def bad(self, message: str) -> None:
        (self.reasons if self.strict else self.problems).append(message)

    def time(self, text: str | None, what: str) -> datetime | None:
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            self.bad(f"{what}: not an ISO date-time: {text[:40]!r}")
            return None
        return value if value.tzinfo else value.replace(tzinfo=ASSUMED_UTC)

    def ip(self, text: str | None, when: str | None, port: Any, event: str) -> IpEvent | None:
        try:
            address = str(ipaddress.ip_address((text or "").strip()))
        except ValueError:
            self.bad(f"not an IP address: {str(text)[:45]!r}")
            return None
        try:
            number = int(port) if port not in (None, "") else None
        except (TypeError, ValueError):
            self.bad(f"port is not a number: {port!r}")
            number = None
        return IpEvent(address, self.time(when, f"IP event {address}"), number, event)

    def hashes(self, raw: dict[str, str]) -> dict[str, str]:
        out = {}
        for kind, value in raw.items():
            try:
                hash_type = HASH_TYPES.get(kind)
                out[hash_type.name] = hash_type.normalize(value)
            except (KeyError, ValueError) as exc:
                self.bad(str(exc).strip("\"'"))
        return out

    def done(self, report: IncomingReport) -> IncomingReport:
        if not report.report_id:  # NCMEC assigns ids; a bundle without one is named by where it came from
            report.report_id = Path(report.source).stem if ":" not in report.source else report.source
        if not (
            report.accounts
            or report.emails
            or report.ip_events
            or report.files
            or report.urls
            or report.phones
        ):
            self.reasons.append("names no account, e-mail, phone, IP, file or URL")
        for flag in report.flags:
            if flag not in ESCALATIONS:
                self.reasons.append(f"unknown escalation flag {flag!r} (known: {', '.join(ESCALATIONS)})")
        if self.reasons:
            raise BundleError(self.reasons)
        report.problems = self.problems
        return report


REPORT_FORMATS: Registry[Callable[[bytes, str], IncomingReport]] = Registry("report format")


class _AssumedUtc(tzinfo):
    """UTC, for a time that came without an offset: `localise` finds and re-reads such times in
    their source's zone."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "UTC (assumed)"


ASSUMED_UTC = _AssumedUtc()


def localise(report: IncomingReport, zones: dict[str, tzinfo]) -> IncomingReport:
    """Times sent without an offset are read in the zone set for the report's service (`zones`,
    by service name; "*" for any), else taken as UTC and said so in `problems`."""
    zone = zones.get(report.esp) or zones.get("*")

    def fix(moment: datetime | None) -> datetime | None:
        if moment is None or moment.tzinfo is not ASSUMED_UTC:
            return moment
        if zone is None:
            return moment.replace(tzinfo=UTC)
        return moment.replace(tzinfo=zone).astimezone(UTC)

    naive = report.incident_time is not None and report.incident_time.tzinfo is ASSUMED_UTC
    naive |= any(e.time is not None and e.time.tzinfo is ASSUMED_UTC for e in report.ip_events)
    report.incident_time = fix(report.incident_time)
    report.ip_events = [replace(e, time=fix(e.time)) for e in report.ip_events]
    if naive and zone is None:
        report.problems.append(
            f"times without an offset were taken as UTC (set a time zone for service {report.esp!r})"
        )
    return report


def _with_proxy(event: IpEvent | None, raw: dict[str, Any]) -> IpEvent | None:
    proxy = raw.get("possibleProxy")
    return replace(event, possible_proxy=proxy) if event is not None and isinstance(proxy, bool) else event


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
            _with_proxy(check.ip(e.get("ip"), e.get("dateTime"), e.get("port"), e.get("event", "")), e)
            for e in reported.get("ipEvents", [])
        ]
        files = [
            ReportFile(
                f.get("name"),
                check.hashes({k: f[k] for k in f if k in HASH_TYPES}),
                bool(f.get("attached", False)),
                bool(f.get("viewed", False)),
                f.get("category"),
                tuple(str(a) for a in f.get("annotations", [])),  # potentialMeme, viral...
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
            phones=[str(n) for n in reported.get("phones", [])],
            urls=[str(u) for u in raw.get("urls", [])],
            raw=raw,
        )
    except (AttributeError, TypeError) as exc:
        raise BundleError([f"unexpected structure: {exc}"]) from None
    return check.done(report)


def _text(value: Any) -> str:
    """xmlschema gives simple content as a value, or as {"$": value, "@attr": ...} with attributes."""
    if isinstance(value, dict):
        value = value.get("$", "")
    return "" if value is None else str(value).strip()


def _each(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _ip_events(check: _Checker, events: Any, default_event: str = "") -> list[IpEvent]:
    out = []
    for raw in _each(events):
        event = check.ip(
            _text(raw.get("ipAddress")),
            _text(raw.get("dateTime")) or None,
            raw.get("port"),
            raw.get("eventName") or default_event,
        )
        if event is not None:
            out.append(replace(event, possible_proxy=raw.get("possibleProxy")))
    return out


def _ids(entity: dict[str, Any]) -> list[str]:
    return [t for t in (_text(entity.get("espIdentifier")), _text(entity.get("screenName"))) if t]


def _emails(entity: dict[str, Any], person_key: str) -> list[str]:
    person = entity.get(person_key) or {}
    return [_text(e).lower() for e in _each(person.get("email")) + _each(entity.get("email")) if _text(e)]


def _phones(entity: dict[str, Any], person_key: str) -> list[str]:
    person = entity.get(person_key) or {}
    return [_text(p) for p in _each(person.get("phone")) + _each(entity.get("phone")) if _text(p)]


def _country(entity: dict[str, Any], person_key: str) -> str | None:
    located = _text((entity.get("estimatedLocation") or {}).get("countryCode"))
    addresses = _each((entity.get(person_key) or {}).get("address")) + _each(entity.get("address"))
    return located or next((_text(a.get("country")) for a in addresses if _text(a.get("country"))), None)


def _file(check: _Checker, details: dict[str, Any]) -> tuple[ReportFile, list[IpEvent]]:
    hashes, other = {}, []
    for entry in _each(details.get("originalFileHash")):
        kind, value = str(entry.get("@hashType", "")).strip(), _text(entry)
        try:
            hash_type = HASH_TYPES.get(kind)
            hashes[hash_type.name] = hash_type.normalize(value)
        except (KeyError, ValueError):
            other.append((kind or "unnamed", value))  # kept verbatim: PhotoDNA and others triage cannot match
    annotations = [k for k, v in (details.get("fileAnnotations") or {}).items() if v is True]
    for flag in ("potentialMeme", "publiclyAvailable"):
        if details.get(flag) is True and flag not in annotations:
            annotations.append(flag)
    classification = _text(details.get("industryClassification"))
    found = ReportFile(
        _text(details.get("originalFileName")) or _text(details.get("fileName")) or None,
        hashes,
        bool(_text(details.get("fileId"))),  # a fileId is what the clearinghouse gives an uploaded file
        details.get("fileViewedByEsp") is True,
        f"ncmec:{classification}" if classification else None,
        tuple(annotations),
        tuple(other),
    )
    return found, _ip_events(check, details.get("ipCaptureEvent"), "Upload")


def _service(root: ET.Element, report: dict[str, Any]) -> str:
    persons = _each(report.get("personOrUserReported"))
    email = next(iter(_emails(report.get("reporter") or {}, "reportingPerson")), "")
    return (
        root.get("service")
        or next((_text(p.get("espService")) for p in persons if _text(p.get("espService"))), "")
        or _text((report.get("incidentSummary") or {}).get("platform"))
        or email.rpartition("@")[2]
    )


@REPORT_FORMATS.register("xml")
def parse_xml(data: bytes, source: str) -> IncomingReport:
    """NCMEC's CyberTipline XML: a <report> as the XSD defines it, alone or in an envelope element
    (any name, optional `id` and `service` attributes) with the report's <fileDetails> beside it.

    The report and each fileDetails must validate against the XSD; the schema's messages are the
    rejection reasons. Everything is kept in `raw`; see docs/triage.md for what becomes a field.
    """
    try:
        root = cybertipline.parse(data)
    except cybertipline.SchemaInvalid as exc:
        raise BundleError(exc.problems) from None
    report_el = root if root.tag == "report" else root.find("report")
    if report_el is None:
        raise BundleError([f"no <report> element (root is <{root.tag}>)"])
    reasons: list[str] = []
    decoded: dict[str, Any] = {}
    try:
        decoded = cybertipline.decode(report_el, "report")
    except cybertipline.SchemaInvalid as exc:
        reasons += exc.problems
    details = []
    for index, element in enumerate(root.findall("fileDetails") if root is not report_el else []):
        try:
            details.append(cybertipline.decode(element, "fileDetails"))
        except cybertipline.SchemaInvalid as exc:
            reasons += [f"fileDetails {index + 1}: {p}" for p in exc.problems]
    if reasons:
        raise BundleError(reasons)
    check = _Checker(strict=False)
    summary = decoded.get("incidentSummary") or {}
    persons = _each(decoded.get("personOrUserReported"))
    events = [e for p in persons for e in _ip_events(check, p.get("ipCaptureEvent"))]
    urls = []
    for incident in _each(decoded.get("internetDetails")):
        for body in incident.values():
            events += _ip_events(check, (body or {}).get("ipCaptureEvent"), "")
            urls += [_text(u) for u in _each((body or {}).get("url")) if _text(u)]
    files = []
    for entry in details:
        found, upload_events = _file(check, entry)
        files.append(found)
        events += upload_events
    report_ids = {str(d["reportId"]) for d in details}
    report_id = root.get("id") or (min(report_ids) if report_ids else "")
    if len(report_ids) > 1 or (root.get("id") and report_ids and report_ids != {root.get("id")}):
        check.problems.append(f"fileDetails name other report ids: {', '.join(sorted(report_ids))}")
    annotations = summary.get("reportAnnotations") or {}
    flags = [ANNOTATION_FLAGS[k] for k, v in annotations.items() if v is True and k in ANNOTATION_FLAGS]
    if _text(summary.get("escalateToHighPriority")):
        flags.insert(0, "esp_high_priority")
    recipients = _each(decoded.get("intendedRecipient"))
    report = IncomingReport(
        report_id=report_id,
        source=source,
        incident_time=check.time(_text(summary.get("incidentDateTime")), "incident time"),
        incident_type=_text(summary.get("incidentType")),
        esp=_service(root, decoded),
        accounts=[i for p in persons for i in _ids(p)],
        emails=[e for p in persons for e in _emails(p, "personOrUserReportedPerson")],
        ip_events=list(dict.fromkeys(events)),
        files=files,
        country=next((c for p in persons if (c := _country(p, "personOrUserReportedPerson"))), None),
        flags=flags,
        notes=_text(decoded.get("additionalInfo")),
        phones=[n for p in persons for n in _phones(p, "personOrUserReportedPerson")],
        device_ids=[
            f"{_text(d.get('idType'))}:{_text(d.get('idValue'))}"
            for p in persons
            for d in _each(p.get("deviceId"))
        ],
        linked_accounts=[
            i
            for p in persons
            for a in _each(p.get("associatedAccount"))
            for i in _ids(a) + [_text(e).lower() for e in _each(a.get("email"))]
        ],
        recipients=[i for r in recipients for i in _ids(r) + _emails(r, "intendedRecipientPerson")],
        urls=urls,
        escalation=_text(summary.get("escalateToHighPriority")),
        raw=json.loads(json.dumps({"report": decoded, "fileDetails": details}, default=str)),
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


def read_bundles(paths: Iterable[Path], zones: dict[str, tzinfo] | None = None) -> Intake:
    """Every bundle under `paths`; `zones` (service name -> zone, "*" for any) reads times that
    came without an offset in their service's local time."""
    out = Intake()
    for where, fmt, data in _units(paths):
        try:
            out.reports.append(localise(REPORT_FORMATS.get(fmt)(data, where), zones or {}))
        except BundleError as exc:
            out.rejected.append(ItemError(where, str(exc)))
    return out
