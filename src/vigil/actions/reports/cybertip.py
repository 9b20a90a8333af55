"""A CyberTipline report in Vigil's terms, written through NCMEC's XSD, and how actionable it is.

`ReportInput` is what Vigil knows; `report_xml` and `file_details_xml` map it onto the schema's
elements (see docs/reports.md for the list) and `vigil.core.cybertipline.encode` orders and
validates them against the XSD itself, so a document that NCMEC would reject is never produced.

Every statement with legal weight carries where it came from: `fileViewedByEsp` is a `Stated`
value whose reason cites the audit events behind it; the industry classification says which
reviewer category it was derived from, or why it was left out.

Hotlines can act on a report only when it names who (user identifiers), where and when (IP with
timestamp, location) and what (the file). `actionability` scores those, lists what is missing, and
gives the yes/no verdict police units use to decide whether a report can be imported at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vigil.core import cybertipline

CHECKS = (  # (name, weight, what an analyst should add)
    ("ip_with_time", 30, "an IP capture event with address and time"),
    ("file", 25, "the file itself (preserved evidence)"),
    ("user_identifiers", 20, "a user identifier (account id, screen name or e-mail)"),
    ("location", 15, "a location or jurisdiction hint (country)"),
    ("file_viewed", 10, "a reviewer's unblurred view of the file (else police need a warrant to open it)"),
)
ACTIONABLE = ("ip_with_time", "user_identifiers", "file", "location")  # all four: a unit can act on it
HASH_TYPES = ("MD5", "SHA1", "SHA256")


@dataclass(frozen=True)
class Stated:
    """A yes/no statement in a report and the recorded facts it rests on."""

    value: bool
    why: str


@dataclass(frozen=True)
class IpEvent:
    address: str
    time: str | None = None  # ISO 8601 with offset
    port: int | None = None
    event: str | None = None  # one of cybertipline.EVENT_NAMES
    possible_proxy: bool | None = None

    def to_xsd(self) -> dict[str, Any]:
        return _present(
            {
                "ipAddress": self.address,
                "eventName": self.event,
                "dateTime": self.time,
                "possibleProxy": self.possible_proxy,
                "port": self.port,
            }
        )


@dataclass(frozen=True)
class DeviceId:
    id_type: str
    id_value: str
    event: str | None = None
    time: str | None = None

    def to_xsd(self) -> dict[str, Any]:
        return _present(
            {"idType": self.id_type, "idValue": self.id_value, "eventName": self.event, "dateTime": self.time}
        )


@dataclass
class ReportedUser:
    esp_identifier: str | None = None
    screen_name: str | None = None
    display_name: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    country: str | None = None  # ISO 3166 code from the CyberTipline list
    ip_events: list[IpEvent] = field(default_factory=list)
    device_ids: list[DeviceId] = field(default_factory=list)
    prior_reports: list[str] = field(default_factory=list)  # CyberTipline ids of earlier reports

    def identified(self) -> bool:
        return bool(self.esp_identifier or self.screen_name or self.emails)

    def to_xsd(self) -> dict[str, Any]:
        person = _present({"email": list(self.emails), "phone": list(self.phones)})
        return _present(
            {
                "personOrUserReportedPerson": person,
                "espIdentifier": self.esp_identifier,
                "screenName": self.screen_name,
                "displayName": [self.display_name] if self.display_name else [],
                "ipCaptureEvent": [e.to_xsd() for e in self.ip_events],
                "deviceId": [d.to_xsd() for d in self.device_ids],
                "priorCTReports": [int(r) for r in self.prior_reports],
                "estimatedLocation": {"countryCode": self.country} if self.country else None,
            }
        )


@dataclass
class ReportedFile:
    name: str | None
    hashes: dict[str, str]  # MD5 / SHA1 / SHA256 -> hex
    viewed: Stated  # fileViewedByEsp, from the audit log
    preserved: bool = False  # the file itself is held and will be uploaded
    publicly_available: bool | None = None  # as reviewers recorded it; None: not stated
    potential_meme: bool | None = None
    classification: str | None = None  # industryClassification A1/A2/B1/B2
    classification_why: str = ""
    category: str | None = None  # the reviewers' own category, e.g. "projectvic 1 (Child abuse material)"
    uploaded_at: str | None = None
    location: str | None = None  # where the service found it (URL)
    upload_event: IpEvent | None = None


@dataclass
class ReportInput:
    """What Vigil knows when it drafts a report: one incident, one reported user, one or more files."""

    incident_time: str  # ISO 8601 with offset
    reporter_email: str
    incident_time_why: str = ""
    reporter_name: tuple[str, str] = ("", "")
    urls: list[str] = field(default_factory=list)
    user: ReportedUser | None = None
    files: list[ReportedFile] = field(default_factory=list)
    notes: str | None = None


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """Drop unknown values: the report says only what is known (None, empty lists and dicts)."""
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}


def report_dict(data: ReportInput) -> dict[str, Any]:
    first, last = data.reporter_name
    return _present(
        {
            "incidentSummary": _present(
                {
                    "incidentType": cybertipline.INCIDENT_CSAM,
                    "incidentDateTime": data.incident_time,
                    "incidentDateTimeDescription": data.incident_time_why or None,
                }
            ),
            "internetDetails": [{"webPageIncident": {"url": list(data.urls)}}] if data.urls else [],
            "reporter": {
                "reportingPerson": _present(
                    {"firstName": first or None, "lastName": last or None, "email": [data.reporter_email]}
                )
            },
            "personOrUserReported": [data.user.to_xsd()] if data.user and data.user.to_xsd() else [],
            "additionalInfo": data.notes,
        }
    )


def file_details_dict(report_id: str, file_id: str, f: ReportedFile) -> dict[str, Any]:
    """The XSD offers potentialMeme as a true/false element or as a presence-only tag inside
    fileAnnotations (one or the other); Vigil writes the element, so a reviewer's "no" is kept too."""
    return _present(
        {
            "reportId": int(report_id),
            "fileId": file_id,
            "originalFileName": f.name,
            "uploadedToEspTimestamp": f.uploaded_at,
            "locationOfFile": f.location,
            "fileViewedByEsp": f.viewed.value,
            "publiclyAvailable": f.publicly_available,
            "fileRelevance": "Reported",
            "potentialMeme": f.potential_meme,
            "industryClassification": f.classification,
            "originalFileHash": [
                {"@hashType": kind, "$": f.hashes[kind]} for kind in HASH_TYPES if f.hashes.get(kind)
            ],
            "ipCaptureEvent": f.upload_event.to_xsd() if f.upload_event else None,
            "additionalInfo": [f"Reviewer category: {f.category}"] if f.category else [],
        }
    )


def report_xml(data: ReportInput) -> str:
    """The report element, validated against the XSD (raises SchemaInvalid with its messages)."""
    return cybertipline.encode(report_dict(data), "report")


def file_details_xml(report_id: str, file_id: str, f: ReportedFile) -> str:
    return cybertipline.encode(file_details_dict(report_id, file_id, f), "fileDetails")


def score(present: dict[str, bool]) -> dict[str, Any]:
    """The weighted 0-100 score, what is missing, and the yes/no actionable verdict."""
    total = sum(weight for name, weight, _ in CHECKS if present.get(name))
    missing = [{"item": name, "add": hint} for name, _, hint in CHECKS if not present.get(name)]
    return {
        "score": total,
        "missing": missing,
        "complete": not missing,
        "actionable": all(present.get(name) for name in ACTIONABLE),
    }


def actionability(data: ReportInput) -> dict[str, Any]:
    user = data.user or ReportedUser()
    events = user.ip_events + [f.upload_event for f in data.files if f.upload_event]
    return score(
        {
            "ip_with_time": any(e.address and e.time for e in events),
            "file": any(f.preserved for f in data.files),
            "user_identifiers": user.identified(),
            "location": bool(user.country),
            "file_viewed": any(f.viewed.value for f in data.files),
        }
    )
