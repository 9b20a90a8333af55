"""What keeps the audit log honest against someone who can write the database directly.

The hash chain alone shows edits only to someone who did not recompute it. Two things anchor it:

* **A MAC on every event**, keyed by a secret that lives outside the database
  (`$VIGIL_AUDIT_KEY_FILE`, created 0600 on first use). A database writer without the key cannot
  produce a valid MAC for a rewritten or inserted event.
* **Checkpoints outside the database** (`$VIGIL_AUDIT_ANCHOR`, an append-only JSON-lines file):
  the chain head (sequence number and hash) at a moment, MACed. Cutting events off the end,
  rewriting history, or stripping MACs all contradict a checkpoint.

The service writes a checkpoint every minute when the log has grown; `vigil audit checkpoint` writes
one on demand (run it from cron when only the CLI is used). Keep both files on storage the database
account cannot write, ideally a different machine or a write-once mount.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vigil.core.errors import InvalidInput

KEY_ENV = "VIGIL_AUDIT_KEY_FILE"
ANCHOR_ENV = "VIGIL_AUDIT_ANCHOR"


@lru_cache(maxsize=4)
def _read_key(path: str) -> bytes:
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)))
    key = base64.urlsafe_b64decode(file.read_bytes().strip())
    if len(key) < 32:
        raise InvalidInput(f"{path}: an audit key must hold at least 32 bytes (urlsafe base64)")
    return key


def key() -> bytes | None:
    """The audit MAC key, or None when none is configured (the log is then only hash-chained)."""
    path = os.environ.get(KEY_ENV)
    return _read_key(path) if path else None


def mac(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def anchor_path() -> Path | None:
    path = os.environ.get(ANCHOR_ENV)
    return Path(path) if path else None


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    signed_from: int | None  # the first MACed event at the time (events from here on must carry MACs)
    at: str
    mac: str | None

    def text(self) -> str:
        return f"{self.seq}:{self.hash}:{self.signed_from}:{self.at}"


def append(point: Checkpoint, path: Path) -> None:
    """One line, appended with O_APPEND (atomic for a line this short, across processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(point.__dict__, sort_keys=True) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def read(path: Path) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints in the file, and the lines that are not checkpoints (reported, not trusted)."""
    points: list[Checkpoint] = []
    bad: list[str] = []
    if not path.exists():
        return points, bad
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            raw = json.loads(line)
            points.append(
                Checkpoint(
                    int(raw["seq"]), str(raw["hash"]), raw.get("signed_from"), str(raw["at"]), raw.get("mac")
                )
            )
        except (ValueError, KeyError, TypeError):
            bad.append(f"line {number}")
    return points, bad
