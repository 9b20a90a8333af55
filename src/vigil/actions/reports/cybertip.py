"""CyberTipline-style report XML, and how actionable a report is before it is sent.

Element names and their order follow NCMEC's public CyberTipline reporting API documentation
(report: incidentSummary, internetDetails, reporter, personOrUserReported with ipCaptureEvent;
per file: fileDetails with originalFileHash and fileViewedByEsp). This is a faithful subset for
testing the flow, not NCMEC's schema file; validate against the real XSD before production use.

Hotlines can act on a report only when it names who (user identifiers), where and when (IP with
timestamp, location) and what (the file). `actionability` scores those and lists what is missing,
so an analyst can add it before submission instead of the report being one that cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

REPORT_ORDER = ("incidentSummary", "internetDetails", "reporter", "personOrUserReported", "additionalInfo")
REQUIRED_REPORT = (
    "incidentSummary/incidentType",
    "incidentSummary/incidentDateTime",
    "reporter/reportingPerson/email",
)
FILE_ORDER = (
    "reportId",
    "fileId",
    "originalFileName",
    "locationOfFile",
    "fileViewedByEsp",
    "exifViewedByEsp",
    "publiclyAvailable",
    "fileRelevance",
    "fileAnnotations",
    "originalFileHash",
    "ipCaptureEvent",
    "additionalInfo",
)
REQUIRED_FILE = ("reportId", "fileId", "fileViewedByEsp", "originalFileHash")
INCIDENT_TYPE = "Child Pornography (possession, manufacture, and distribution)"
CHECKS = (  # (name, weight, what an analyst should add)
    ("ip_with_time", 30, "an IP capture event with address and time"),
    ("file", 25, "the file itself (preserved evidence)"),
    ("user_identifiers", 20, "a user identifier (account id, screen name or e-mail)"),
    ("location", 15, "a location or jurisdiction hint (country)"),
    ("file_viewed", 10, "confirmation that staff viewed the file"),
)


@dataclass
class ReportInput:
    """What Vigil knows when it drafts a report for one confirmed item."""

    incident_time: str
    reporter_email: str
    reporter_name: tuple[str, str] = ("", "")
    url: str | None = None
    user: dict[str, Any] = field(default_factory=dict)  # espIdentifier, screenName, email, country
    ip_events: list[dict[str, Any]] = field(default_factory=list)  # ipAddress, dateTime, port, eventName
    file_name: str | None = None
    file_hashes: dict[str, str] = field(default_factory=dict)  # MD5/SHA1/SHA256 -> value
    file_preserved: bool = False
    file_viewed: bool = True
    category: str | None = None
    notes: str | None = None


def _add(parent: ET.Element, tag: str, text: object | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = str(text)
    return child


def _ip_event(parent: ET.Element, event: dict[str, Any]) -> None:
    node = _add(parent, "ipCaptureEvent")
    _add(node, "ipAddress", event.get("ipAddress"))
    _add(node, "eventName", event.get("eventName", "Upload"))
    _add(node, "dateTime", event.get("dateTime"))
    if event.get("port") is not None:
        _add(node, "port", event["port"])


def report_xml(data: ReportInput) -> str:
    root = ET.Element("report")
    summary = _add(root, "incidentSummary")
    _add(summary, "incidentType", INCIDENT_TYPE)
    _add(summary, "incidentDateTime", data.incident_time)
    if data.url:
        web = _add(_add(root, "internetDetails"), "webPageIncident")
        _add(web, "url", data.url)
    reporter = _add(root, "reporter")
    person = _add(reporter, "reportingPerson")
    if data.reporter_name[0]:
        _add(person, "firstName", data.reporter_name[0])
        _add(person, "lastName", data.reporter_name[1])
    _add(person, "email", data.reporter_email)
    if data.user or data.ip_events:
        reported = _add(root, "personOrUserReported")
        for key in ("espIdentifier", "screenName", "email"):
            if data.user.get(key):
                _add(reported, key, data.user[key])
        if data.user.get("country"):
            _add(_add(reported, "address"), "country", data.user["country"])
        for event in data.ip_events:
            _ip_event(reported, event)
    if data.notes:
        _add(root, "additionalInfo", data.notes)
    return ET.tostring(root, encoding="unicode")


def file_details_xml(report_id: str, file_id: str, data: ReportInput) -> str:
    root = ET.Element("fileDetails")
    _add(root, "reportId", report_id)
    _add(root, "fileId", file_id)
    if data.file_name:
        _add(root, "originalFileName", data.file_name)
    _add(root, "fileViewedByEsp", str(data.file_viewed).lower())
    _add(root, "publiclyAvailable", "false")
    for kind in ("MD5", "SHA1", "SHA256"):
        if data.file_hashes.get(kind):
            _add(root, "originalFileHash", data.file_hashes[kind], hashType=kind)
    for event in data.ip_events[:1]:
        _ip_event(root, event)
    if data.category:
        _add(root, "additionalInfo", f"Reviewer category: {data.category}")
    return ET.tostring(root, encoding="unicode")


def actionability(data: ReportInput) -> dict[str, Any]:
    """A 0-100 score and the missing items, by name, with what to add."""
    present = {
        "ip_with_time": any(e.get("ipAddress") and e.get("dateTime") for e in data.ip_events),
        "file": data.file_preserved,
        "user_identifiers": any(data.user.get(k) for k in ("espIdentifier", "screenName", "email")),
        "location": bool(data.user.get("country")),
        "file_viewed": data.file_viewed,
    }
    score = sum(weight for name, weight, _ in CHECKS if present[name])
    missing = [{"item": name, "add": hint} for name, _, hint in CHECKS if not present[name]]
    return {"score": score, "missing": missing, "complete": not missing}


def structure_problems(xml_text: str, root_tag: str) -> list[str]:
    """Required elements present and top-level children in schema order; [] when valid."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    order, required = (REPORT_ORDER, REQUIRED_REPORT) if root_tag == "report" else (FILE_ORDER, REQUIRED_FILE)
    problems = [] if root.tag == root_tag else [f"root element is {root.tag}, expected {root_tag}"]
    positions = []
    for child in root:
        if child.tag not in order:
            problems.append(f"unexpected element {child.tag}")
        else:
            positions.append(order.index(child.tag))
    if positions != sorted(positions):
        problems.append("elements are not in schema order")
    problems += [f"missing {path}" for path in required if root.find(path) is None or not root.findtext(path)]
    return problems
