"""The normalised incoming report every intake format is turned into.

Structured fields are what triage uses (linking, completeness, priority, the case summary); `raw`
keeps the whole report verbatim as it came (for CyberTipline XML: every element and attribute of
`report` and of each `fileDetails`, in xmlschema's dict form), so nothing a service sent is lost
even where triage has no use for it yet. `problems` holds values that are kept but not used
(an "IP address" that is not one), so a report is never dropped for one bad field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class IpEvent:
    ip: str
    time: datetime | None
    port: int | None = None
    event: str = ""
    possible_proxy: bool | None = None  # the service suspects a proxy or VPN


@dataclass(frozen=True)
class ReportFile:
    name: str | None
    hashes: dict[str, str]  # hash type -> lowercase hex
    attached: bool  # the file itself came with the report
    viewed: bool  # the reporting service says staff viewed it
    category: str | None = None  # as given by the reporter, e.g. "ncmec:A1"
    annotations: tuple[str, ...] = ()  # what the service flagged: potentialMeme, viral, generativeAi...
    other_hashes: tuple[tuple[str, str], ...] = ()  # hash types triage cannot match (PhotoDNA...), verbatim


@dataclass
class IncomingReport:
    report_id: str
    source: str
    incident_time: datetime | None
    incident_type: str = ""
    esp: str = ""
    accounts: list[str] = field(default_factory=list)  # esp-scoped ids and screen names
    emails: list[str] = field(default_factory=list)
    ip_events: list[IpEvent] = field(default_factory=list)
    files: list[ReportFile] = field(default_factory=list)
    country: str | None = None
    flags: list[str] = field(default_factory=list)  # escalation: imminent_danger, ongoing_abuse, ...
    notes: str = ""
    phones: list[str] = field(default_factory=list)
    device_ids: list[str] = field(default_factory=list)  # "type:value"
    linked_accounts: list[str] = field(default_factory=list)  # associated accounts the service named
    recipients: list[str] = field(default_factory=list)  # intended recipients (ids, names, e-mails)
    urls: list[str] = field(default_factory=list)
    escalation: str = ""  # the service's own escalateToHighPriority text
    raw: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    received: datetime | None = None  # when the unit imported it (set from the store, not the sender)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["incident_time"] = self.incident_time.isoformat() if self.incident_time else None
        data["received"] = self.received.isoformat() if self.received else None
        data["ip_events"] = [
            {**asdict(e), "time": e.time.isoformat() if e.time else None} for e in self.ip_events
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncomingReport:
        def when(text: str | None) -> datetime | None:
            return datetime.fromisoformat(text) if text else None

        return cls(
            report_id=data["report_id"],
            source=data.get("source", ""),
            incident_time=when(data.get("incident_time")),
            incident_type=data.get("incident_type", ""),
            esp=data.get("esp", ""),
            accounts=list(data.get("accounts", [])),
            emails=list(data.get("emails", [])),
            ip_events=[
                IpEvent(
                    e["ip"], when(e.get("time")), e.get("port"), e.get("event", ""), e.get("possible_proxy")
                )
                for e in data.get("ip_events", [])
            ],
            files=[
                ReportFile(
                    f.get("name"),
                    dict(f.get("hashes", {})),
                    bool(f.get("attached")),
                    bool(f.get("viewed")),
                    f.get("category"),
                    tuple(f.get("annotations", ())),
                    tuple((str(k), str(v)) for k, v in f.get("other_hashes", ())),
                )
                for f in data.get("files", [])
            ],
            country=data.get("country"),
            flags=list(data.get("flags", [])),
            notes=data.get("notes", ""),
            phones=list(data.get("phones", [])),
            device_ids=list(data.get("device_ids", [])),
            linked_accounts=list(data.get("linked_accounts", [])),
            recipients=list(data.get("recipients", [])),
            urls=list(data.get("urls", [])),
            escalation=data.get("escalation", ""),
            raw=dict(data.get("raw", {})),
            problems=list(data.get("problems", [])),
            received=when(data.get("received")),
        )

    def content_key(self) -> str:
        """Same reporter, subject, files and time: the same incident sent twice under new ids."""
        core = {
            "esp": self.esp,
            "accounts": sorted(self.accounts),
            "emails": sorted(self.emails),
            "time": self.incident_time.isoformat() if self.incident_time else None,
            "files": sorted(v for f in self.files for v in f.hashes.values()),
            "ips": sorted(f"{e.ip}:{e.port}@{e.time.isoformat() if e.time else ''}" for e in self.ip_events),
        }
        return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()
