"""Log profiles: which column of a monitoring tool's CSV holds what, and what its events mean.

Every tool writes its own columns (a DHT crawler: `ts,msg,node_id,info_hash,ip,port`; Vigil's own
format: `timestamp,ip,port,client_id,infohash,file_hash,file_name`) and its own words for what a peer
did. A profile maps both onto Vigil's fields and onto three evidence grades:

* `downloaded`: the tool downloaded content from the peer (single-source download confirmed);
* `announced`: the peer offered the content (announce, have, search hit);
* `queried`: the peer only asked for it (a DHT `get_peers`, a search). Crawlers and curious clients
  do this for anything; it is never evidence of distribution.

Profiles are registered by name (`PROFILES`), and a user's own are JSON files saved with
`vigil p2p profile save`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from vigil.core.errors import InvalidInput
from vigil.core.registry import Registry

FIELDS = ("time", "ip", "port", "client_id", "infohash", "file_hash", "file_name", "event")


class Grade(StrEnum):
    DOWNLOADED = "downloaded"
    ANNOUNCED = "announced"
    QUERIED = "queried"


@dataclass(frozen=True)
class LogProfile:
    name: str
    columns: dict[str, str]  # Vigil field -> the log's column name (case-insensitive)
    events: dict[str, Grade] = field(default_factory=dict)  # the log's event word -> grade
    default_grade: Grade = Grade.ANNOUNCED  # for rows without an event column or an unknown word
    file_hash_type: str | None = None  # what 32-hex file hashes are ("ed2k" for eMule logs), else MD5

    def __post_init__(self) -> None:
        unknown = set(self.columns) - set(FIELDS)
        if unknown:
            raise InvalidInput(f"profile {self.name}: unknown field(s) {sorted(unknown)} (known: {FIELDS})")
        if "time" not in self.columns or "ip" not in self.columns:
            raise InvalidInput(f"profile {self.name}: needs the time and ip columns")
        if not {"infohash", "file_hash"} & set(self.columns):
            raise InvalidInput(f"profile {self.name}: needs an infohash or a file_hash column")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LogProfile:
        try:
            raw = json.loads(text)
            return cls(
                str(raw["name"]),
                {str(k): str(v) for k, v in raw["columns"].items()},
                {str(k): Grade(v) for k, v in raw.get("events", {}).items()},
                Grade(raw.get("default_grade", Grade.ANNOUNCED)),
                raw.get("file_hash_type"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"not a log profile: {exc}") from None


PROFILES: Registry[LogProfile] = Registry("P2P log profile")
PROFILES.add(
    "vigil",
    LogProfile("vigil", {f: f for f in FIELDS if f not in ("time", "event")} | {"time": "timestamp"}),
)
PROFILES.add(
    "dht",
    LogProfile(
        "dht",
        {
            "time": "ts",
            "event": "msg",
            "client_id": "node_id",
            "infohash": "info_hash",
            "ip": "ip",
            "port": "port",
        },
        {
            "announce_peer": Grade.ANNOUNCED,
            "get_peers": Grade.QUERIED,
            "find_node": Grade.QUERIED,
            "download": Grade.DOWNLOADED,
            "piece": Grade.DOWNLOADED,
        },
        Grade.QUERIED,  # a DHT message the profile does not name is no evidence of sharing
    ),
)


def profile_folder() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vigil" / "p2p-profiles"


def save_profile(profile: LogProfile, folder: Path | None = None) -> Path:
    target = (folder or profile_folder()) / f"{profile.name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(profile.to_json())
    return target


def load_profile(name: str, folder: Path | None = None) -> LogProfile:
    """A saved profile (a JSON file path, or a name saved before), else a built-in one."""
    path = Path(name)
    if path.suffix == ".json" and path.exists():
        return LogProfile.from_json(path.read_text())
    saved = (folder or profile_folder()) / f"{name}.json"
    if saved.exists():
        return LogProfile.from_json(saved.read_text())
    return PROFILES.get(name)


def parse_columns(spec: str, base: LogProfile | None = None, name: str = "custom") -> LogProfile:
    """`time=ts,ip=addr,...` over a base profile (its events and other columns stay)."""
    columns = dict(base.columns) if base else {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(f"--columns: write FIELD=COLUMN pairs, got {pair!r}")
        columns[key.strip()] = value.strip()
    events = dict(base.events) if base else {}
    grade = base.default_grade if base else Grade.ANNOUNCED
    return LogProfile(name, columns, events, grade, base.file_hash_type if base else None)
