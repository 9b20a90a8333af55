"""Freeze a confirmed file and its context: AES-256-GCM at rest, chain of custody, legal hold.

Providers often delete an account and with it "all incriminating evidence". When reviewers
confirm an item, Vigil copies the file into the vault with the context known about it (uploader
id, IP capture events with times and ports, account data). Evidence under legal hold, or inside its
retention period (one year by default), cannot be deleted; refusals are audited.

The key comes from $VIGIL_EVIDENCE_KEY (urlsafe base64 of 32 bytes) or a key file created on
first use with mode 0600 (default: ~/.config/vigil/evidence.key). A key inside the vault folder or
beside it is refused unless $VIGIL_EVIDENCE_KEY_BESIDE=1: whoever copies the folder would take the
key with it. Better still, keep it on another mount, or fetch it from a KMS/HSM into the variable.

Blobs reveal nothing without the key: names are random (evidence) or a keyed HMAC (quarantined
uploads, so they can be found again), never a content hash; sizes are padded to a power of two
(at least 64 KiB); files are 0600. A quarantined upload is deleted once review decides: moved into
evidence when confirmed, gone when rejected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vigil.core.actor import Actor, Permission, Role
from vigil.core.clock import aware, utcnow
from vigil.core.errors import Forbidden, NotFound, VigilError
from vigil.media.archives import read_item
from vigil.media.walk import ItemRef, resolve_label
from vigil.store import anchor, audit
from vigil.store.db import Tx
from vigil.store.models import CustodyEvent, Evidence, ReviewItem
from vigil.store.repo import evidence as repo

DEFAULT_RETENTION = timedelta(days=365)
NONCE = 12


class EvidenceError(VigilError):
    """Evidence that cannot be read, preserved or deleted as asked (the reason says which)."""

    status = 409


BESIDE_ENV = "VIGIL_EVIDENCE_KEY_BESIDE"
PAD_MIN = 64 << 10
V2 = "b2-"  # names of blobs written padded, with a length header (older blobs are read as they are)


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vigil" / "evidence.key"


def check_key_place(folder: Path, key_file: Path) -> None:
    """Refuse a key stored in the vault or in the folder that holds it, unless explicitly allowed."""
    if os.environ.get("VIGIL_EVIDENCE_KEY") or os.environ.get(BESIDE_ENV) == "1":
        return
    vault, key = folder.resolve(), key_file.resolve()
    if key.is_relative_to(vault) or key.parent == vault.parent:
        raise EvidenceError(
            f"the evidence key {key_file} sits in or beside the vault {folder}: anyone copying the vault "
            f"would take the key too. Put it elsewhere (--key-file), use $VIGIL_EVIDENCE_KEY, or set "
            f"{BESIDE_ENV}=1 to accept the risk"
        )


def _padded(data: bytes) -> bytes:
    size = max(PAD_MIN, 1 << (len(data) + 8 - 1).bit_length())
    return len(data).to_bytes(8, "big") + data + bytes(size - len(data) - 8)


def _unpadded(plain: bytes) -> bytes:
    return plain[8 : 8 + int.from_bytes(plain[:8], "big")]


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


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
    key_files: tuple[Path, ...] = ()  # where the key was read from (never to be scanned)

    @classmethod
    def open(
        cls, folder: Path, key_file: Path | None = None, retention: timedelta = DEFAULT_RETENTION
    ) -> Vault:
        key_file = key_file or default_key_file()
        check_key_place(folder, key_file)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(folder, load_key(key_file), retention, (key_file,))

    # -- encryption -------------------------------------------------------------------------
    def _seal(self, data: bytes, label: str) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + AESGCM(self.key).encrypt(nonce, _padded(data), label.encode())

    def _unseal(self, blob: bytes, label: str, name: str) -> bytes:
        plain = AESGCM(self.key).decrypt(blob[:NONCE], blob[NONCE:], label.encode())
        return _unpadded(plain) if name.startswith(V2) else plain

    def _pending_name(self, sha256: str) -> str:
        """Where a quarantined upload lives: found again from its hash, but only with the key."""
        return (
            V2 + hmac.new(self.key, f"quarantine:{sha256}".encode(), hashlib.sha256).hexdigest()[:40] + ".bin"
        )

    def quarantine(self, data: bytes) -> str:
        """Keep an API-submitted file (encrypted) until review decides; returns its blob name."""
        digest = hashlib.sha256(data).hexdigest()
        name = self._pending_name(digest)
        _write_private(self.folder / name, self._seal(data, digest))
        return name

    def release(self, sha256: str) -> bool:
        """Delete a quarantined upload (after review decided); True if there was one."""
        found = False
        for path in (self.folder / self._pending_name(sha256), self.folder / f"pending-{sha256}.bin"):
            if path.exists():
                path.unlink()
                found = True
        return found

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
        name = V2 + secrets.token_hex(20) + ".bin"
        _write_private(self.folder / name, self._seal(data, digest))
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
        custody = self._custody(session, evidence, "preserved", actor, {"review_item": item.id})
        audit.record(
            session, actor, "evidence.preserve", f"evidence:{evidence.id}", {"sha256": digest, **custody}
        )
        return evidence

    def content(self, item: ReviewItem) -> bytes | None:
        """The item's bytes: its quarantined upload, else the scanned file (None when gone)."""
        for name in (self._pending_name(item.sha256), f"pending-{item.sha256}.bin"):
            if (self.folder / name).exists():
                return self._unseal((self.folder / name).read_bytes(), item.sha256, name)
        if not item.path:
            return None
        try:
            return read_item(ItemRef.from_json(item.ref) if item.ref else resolve_label(item.path))
        except (OSError, ValueError, EOFError, VigilError):
            return None

    def _custody(
        self, session: Tx, evidence: Evidence, action: str, actor: Actor, detail: dict[str, Any]
    ) -> dict[str, Any]:
        """Append a custody event; returns what the matching audit event must carry (its chain
        hash), so the anchored audit log vouches for the custody trail's length and content."""
        last = repo.last_custody(session, evidence.id)
        prev = last.chain_hash if last else evidence.sha256
        at = utcnow()
        digest = _custody_hash(prev, action, actor.label, at, detail)
        secret = anchor.key()
        session.add(
            CustodyEvent(
                evidence_id=evidence.id,
                action=action,
                actor=actor.label,
                at=at,
                detail=detail,
                chain_hash=digest,
                mac=anchor.mac(secret, f"custody:{digest}") if secret else None,
            )
        )
        session.flush()
        return {"custody": digest}

    # -- access and deletion -------------------------------------------------------------------
    def read(self, session: Tx, evidence_id: int, actor: Actor) -> bytes:
        if not (actor.can(Permission.EVIDENCE) or actor.can(Permission.REPORT)):  # reporting sends it on
            raise Forbidden(f"role {actor.role} cannot open evidence")
        evidence = session.get(Evidence, evidence_id)
        if evidence is None or evidence.deleted_at is not None:
            raise NotFound(f"no evidence {evidence_id}")
        try:
            data = self._unseal((self.folder / evidence.blob).read_bytes(), evidence.sha256, evidence.blob)
        except (OSError, InvalidTag) as exc:
            audit.record(
                session, actor, "evidence.unreadable", f"evidence:{evidence_id}", {"error": str(exc)}
            )
            session.commit()
            raise EvidenceError(
                f"evidence {evidence_id} cannot be read: its blob is missing or is not the one recorded"
            ) from None
        if hashlib.sha256(data).hexdigest() != evidence.sha256:
            raise EvidenceError("evidence content does not match its recorded hash")
        custody = self._custody(session, evidence, "accessed", actor, {})
        audit.record(session, actor, "evidence.read", f"evidence:{evidence_id}", custody)
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
        custody = self._custody(session, evidence, "deleted", actor, {})
        audit.record(session, actor, "evidence.delete", f"evidence:{evidence_id}", custody)

    def release_hold(self, session: Tx, evidence_id: int, actor: Actor, reason: str) -> None:
        if actor.role not in (Role.ADMIN, Role.OPERATOR):
            raise Forbidden("only an admin can release a legal hold")
        evidence = session.get(Evidence, evidence_id)
        if evidence is None:
            raise NotFound(f"no evidence {evidence_id}")
        evidence.legal_hold = False
        custody = self._custody(session, evidence, "hold_released", actor, {"reason": reason})
        audit.record(
            session, actor, "evidence.release_hold", f"evidence:{evidence_id}", {"reason": reason, **custody}
        )

    def place_hold(self, session: Tx, evidence_id: int, actor: Actor, reason: str) -> None:
        """Put evidence (back) under legal hold: it cannot be deleted until an admin releases it."""
        if not actor.can(Permission.EVIDENCE):
            raise Forbidden(f"role {actor.role} cannot place a legal hold")
        evidence = session.get(Evidence, evidence_id)
        if evidence is None or evidence.deleted_at is not None:
            raise NotFound(f"no evidence {evidence_id}")
        evidence.legal_hold = True
        custody = self._custody(session, evidence, "hold_placed", actor, {"reason": reason})
        audit.record(
            session, actor, "evidence.place_hold", f"evidence:{evidence_id}", {"reason": reason, **custody}
        )

    def verify_custody(self, session: Tx, evidence_id: int) -> bool:
        return custody_problem(session, evidence_id) is None


CUSTODY_ACTIONS = (
    "evidence.preserve",
    "evidence.read",
    "evidence.delete",
    "evidence.release_hold",
    "evidence.place_hold",
)


def custody_problem(session: Tx, evidence_id: int) -> str | None:
    """Why the custody trail of this evidence cannot be trusted, or None when it holds.

    The chain shows edits by anyone who did not recompute it; with the audit key configured each
    event's MAC shows a recomputed chain; and the audit log (itself MACed and checkpointed outside
    the database) names the custody hash of every custody event, so a trail cut short or rewritten
    with valid-looking hashes contradicts it."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None:
        return f"no evidence {evidence_id}"
    secret = anchor.key()
    prev, signed, hashes = evidence.sha256, False, set()
    for number, event in enumerate(repo.custody(session, evidence_id), start=1):
        where = f"custody event {number} ({event.action})"
        if _custody_hash(prev, event.action, event.actor, event.at, event.detail) != event.chain_hash:
            return f"{where} does not match its hash"
        if secret is not None:
            if event.mac is not None:
                signed = True
                if not hmac.compare_digest(event.mac, anchor.mac(secret, f"custody:{event.chain_hash}")):
                    return f"{where}: MAC does not match (rewritten without the audit key)"
            elif signed:
                return f"{where}: MAC missing after signing began"
        prev = event.chain_hash
        hashes.add(event.chain_hash)
    vouched = [
        str(detail["custody"])
        for event in audit.events_on(session, f"evidence:{evidence_id}", CUSTODY_ACTIONS)
        if "custody" in (detail := audit.detail_of(event))
    ]
    missing = [digest for digest in vouched if digest not in hashes]
    if missing:
        return f"{len(missing)} custody event(s) named in the audit log are gone from the trail"
    return None


def _custody_hash(prev: str, action: str, actor: str, at: datetime, detail: dict[str, Any]) -> str:
    payload = json.dumps([prev, action, actor, _iso(at), detail], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return aware(moment).astimezone(UTC).isoformat()
