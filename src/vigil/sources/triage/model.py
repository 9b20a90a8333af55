"""The normalised incoming report every intake format is turned into."""

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


@dataclass(frozen=True)
class ReportFile:
    name: str | None
    hashes: dict[str, str]  # hash type -> lowercase hex
    attached: bool  # the file itself came with the report
    viewed: bool  # the reporting service says staff viewed it
    category: str | None = None  # as given by the reporter, e.g. "ncmec:A1"


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

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["incident_time"] = self.incident_time.isoformat() if self.incident_time else None
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
                IpEvent(e["ip"], when(e.get("time")), e.get("port"), e.get("event", ""))
                for e in data.get("ip_events", [])
            ],
            files=[
                ReportFile(
                    f.get("name"),
                    dict(f.get("hashes", {})),
                    bool(f.get("attached")),
                    bool(f.get("viewed")),
                    f.get("category"),
                )
                for f in data.get("files", [])
            ],
            country=data.get("country"),
            flags=list(data.get("flags", [])),
            notes=data.get("notes", ""),
        )

    def content_key(self) -> str:
        """Same reporter, subject, files and time: the same incident sent twice under new ids."""
        core = {
            "esp": self.esp,
            "accounts": sorted(self.accounts),
            "emails": sorted(self.emails),
            "time": self.incident_time.isoformat() if self.incident_time else None,
            "files": sorted(v for f in self.files for v in f.hashes.values()),
            "ips": sorted(e.ip for e in self.ip_events),
        }
        return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()
