"""Freeze a confirmed file and its context: AES-256-GCM at rest, chain of custody, legal hold.

Providers often delete an account and with it "all incriminating evidence". When reviewers
confirm an item, Vigil copies the file into the vault with the context known about it (uploader
id, IP capture events with times and ports, account data). Evidence under legal hold, or inside its
retention period (one year by default), cannot be deleted; refusals are audited.

The key comes from $VIGIL_EVIDENCE_KEY (urlsafe base64 of 32 bytes) or a key file created on
first use with mode 0600. Keep that file away from the vault folder (or use the variable).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vigil.core.actor import Actor, Permission, Role
from vigil.core.clock import aware, utcnow
from vigil.core.errors import Forbidden, NotFound, VigilError
from vigil.media.archives import read_item
from vigil.media.walk import ItemRef, resolve_label
from vigil.store import audit
from vigil.store.db import Tx
from vigil.store.models import CustodyEvent, Evidence, ReviewItem
from vigil.store.repo import evidence as repo

DEFAULT_RETENTION = timedelta(days=365)
NONCE = 12


class EvidenceError(VigilError):
    """Evidence that cannot be read, preserved or deleted as asked (the reason says which)."""

    status = 409


def load_key(key_file: Path) -> bytes:
    env = os.environ.get("VIGIL_EVIDENCE_KEY")
    if env:
        key = base64.urlsafe_b64decode(env)
    elif key_file.exists():
        key = base64.urlsafe_b64decode(key_file.read_bytes().strip())
    else:
        key = secrets.token_bytes(32)
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(key))
    if len(key) != 32:
        raise EvidenceError("evidence key must be 32 bytes (urlsafe base64)")
    return key


@dataclass
class Vault:
    folder: Path
    key: bytes
    retention: timedelta = DEFAULT_RETENTION

    @classmethod
    def open(
        cls, folder: Path, key_file: Path | None = None, retention: timedelta = DEFAULT_RETENTION
    ) -> Vault:
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder, load_key(key_file or folder.parent / "vigil-evidence.key"), retention)

    # -- encryption -------------------------------------------------------------------------
    def _seal(self, data: bytes, label: str) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + AESGCM(self.key).encrypt(nonce, data, label.encode())

    def _unseal(self, blob: bytes, label: str) -> bytes:
        return AESGCM(self.key).decrypt(blob[:NONCE], blob[NONCE:], label.encode())

    def quarantine(self, data: bytes) -> str:
        """Keep an API-submitted file (encrypted) until review decides; returns its blob name."""
        digest = hashlib.sha256(data).hexdigest()
        name = f"pending-{digest}.bin"
        (self.folder / name).write_bytes(self._seal(data, digest))
        return name

    # -- preservation ------------------------------------------------------------------------
    def preserve(self, session: Tx, item: ReviewItem, actor: Actor) -> Evidence | None:
        """Called when an item is confirmed, inside the confirming transaction."""
        data = self.content(item)
        if data is None:
            audit.record(session, actor, "evidence.unavailable", f"review:{item.id}", {"path": item.path})
            return None
        digest = hashlib.sha256(data).hexdigest()
        if item.sha256 and digest != item.sha256:
            audit.record(session, actor, "evidence.changed", f"review:{item.id}", {"sha256": digest})
            return None
        name = f"evidence-{item.id}-{digest[:16]}.bin"
        (self.folder / name).write_bytes(self._seal(data, digest))
        evidence = Evidence(
            review_item_id=item.id,
            sha256=digest,
            md5=hashlib.md5(data).hexdigest(),
            size=len(data),
            blob=name,
            context=dict(item.context or {}, original_path=item.path),
            legal_hold=True,
            retain_until=utcnow() + self.retention,
        )
        session.add(evidence)
        session.flush()
        self._custody(session, evidence, "preserved", actor, {"review_item": item.id})
        audit.record(session, actor, "evidence.preserve", f"evidence:{evidence.id}", {"sha256": digest})
        return evidence

    def content(self, item: ReviewItem) -> bytes | None:
        """The item's bytes: its quarantined upload, else the scanned file (None when gone)."""
        pending = self.folder / f"pending-{item.sha256}.bin"
        if pending.exists():
            return self._unseal(pending.read_bytes(), item.sha256)
        if not item.path:
            return None
        try:
            return read_item(ItemRef.from_json(item.ref) if item.ref else resolve_label(item.path))
        except (OSError, ValueError, EOFError, VigilError):
            return None

    def _custody(
        self, session: Tx, evidence: Evidence, action: str, actor: Actor, detail: dict[str, Any]
    ) -> None:
        last = repo.last_custody(session, evidence.id)
        prev = last.chain_hash if last else evidence.sha256
        at = utcnow()
        payload = json.dumps([prev, action, actor.label, _iso(at), detail], sort_keys=True, default=str)
        session.add(
            CustodyEvent(
                evidence_id=evidence.id,
                action=action,
                actor=actor.label,
                at=at,
                detail=detail,
                chain_hash=hashlib.sha256(payload.encode()).hexdigest(),
            )
        )
        session.flush()

    # -- access and deletion -------------------------------------------------------------------
    def read(self, session: Tx, evidence_id: int, actor: Actor) -> bytes:
        if not (actor.can(Permission.EVIDENCE) or actor.can(Permission.REPORT)):  # reporting sends it on
            raise Forbidden(f"role {actor.role} cannot open evidence")
        evidence = session.get(Evidence, evidence_id)
        if evidence is None or evidence.deleted_at is not None:
            raise NotFound(f"no evidence {evidence_id}")
        data = self._unseal((self.folder / evidence.blob).read_bytes(), evidence.sha256)
        if hashlib.sha256(data).hexdigest() != evidence.sha256:
            raise EvidenceError("evidence content does not match its recorded hash")
        self._custody(session, evidence, "accessed", actor, {})
        audit.record(session, actor, "evidence.read", f"evidence:{evidence_id}")
        return data

    def delete(self, session: Tx, evidence_id: int, actor: Actor) -> None:
        evidence = session.get(Evidence, evidence_id)
        if evidence is None or evidence.deleted_at is not None:
            raise NotFound(f"no evidence {evidence_id}")
        held = evidence.legal_hold or aware(evidence.retain_until) > utcnow()
        if held or not actor.can(Permission.EVIDENCE):
            reason = "legal hold" if evidence.legal_hold else "retention period" if held else "role"
            audit.record(
                session, actor, "evidence.delete_refused", f"evidence:{evidence_id}", {"reason": reason}
            )
            session.commit()
            raise EvidenceError(f"evidence {evidence_id} cannot be deleted: {reason}")
        (self.folder / evidence.blob).unlink(missing_ok=True)
        evidence.deleted_at = utcnow()
        self._custody(session, evidence, "deleted", actor, {})
        audit.record(session, actor, "evidence.delete", f"evidence:{evidence_id}")

    def release_hold(self, session: Tx, evidence_id: int, actor: Actor, reason: str) -> None:
        if actor.role not in (Role.ADMIN, Role.OPERATOR):
            raise Forbidden("only an admin can release a legal hold")
        evidence = session.get(Evidence, evidence_id)
        if evidence is None:
            raise NotFound(f"no evidence {evidence_id}")
        evidence.legal_hold = False
        self._custody(session, evidence, "hold_released", actor, {"reason": reason})
        audit.record(session, actor, "evidence.release_hold", f"evidence:{evidence_id}", {"reason": reason})

    def verify_custody(self, session: Tx, evidence_id: int) -> bool:
        evidence = session.get(Evidence, evidence_id)
        if evidence is None:
            return False
        prev = evidence.sha256
        for event in repo.custody(session, evidence_id):
            payload = json.dumps(
                [prev, event.action, event.actor, _iso(event.at), event.detail], sort_keys=True, default=str
            )
            if hashlib.sha256(payload.encode()).hexdigest() != event.chain_hash:
                return False
            prev = event.chain_hash
        return True


def _iso(moment: datetime) -> str:
    return aware(moment).astimezone(UTC).isoformat()
