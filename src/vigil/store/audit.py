"""Every view, unblur, decision, export and report is an audit event chained by SHA-256.

Each event's hash covers its own fields and the previous event's hash, so changing, inserting or
removing a row breaks the chain from that row on; `verify` names the first broken row. Database
triggers also refuse UPDATE/DELETE, so tampering needs direct access that bypasses them. Someone
with that access could recompute the chain, so each event is also MACed with a key kept outside
the database, and checkpoints of the chain head are written outside it (vigil.store.anchor):
`verify` then detects rewrites, stripped MACs and events cut off the end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text

from vigil.core.actor import Actor
from vigil.core.clock import utcnow
from vigil.store import anchor
from vigil.store.db import Store, Tx
from vigil.store.models import AuditEvent

GENESIS = "0" * 64


def canonical(detail: dict[str, Any] | None) -> str:
    return json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, target: str | None, detail: str
) -> str:
    payload = json.dumps([prev_hash, seq, at, actor, action, target, detail], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Tx, actor: Actor, action: str, target: str | None = None, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """Append an event in the caller's transaction (so the action and its audit commit together)."""
    _serialise(session)
    label = actor.label
    last = session.scalars(
        select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1).with_for_update()
    ).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    at = utcnow().isoformat()
    text = canonical(detail)
    digest = event_hash(prev, seq, at, label, action, target, text)
    secret = anchor.key()
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=label,
        action=action,
        target=target,
        detail=text,
        prev_hash=prev,
        hash=digest,
        mac=anchor.mac(secret, digest) if secret else None,
    )
    session.add(event)
    session.flush()
    return event


def _serialise(session: Tx) -> None:
    """Take the chain's write lock before reading its tail, so concurrent writers cannot fork it."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7263001)"))
    elif dialect == "sqlite":
        session.execute(text("DELETE FROM audit_log WHERE 0"))  # a write statement takes SQLite's write lock


def log(
    store: Store, actor: Actor, action: str, target: str | None = None, detail: dict[str, Any] | None = None
) -> None:
    """One event in its own transaction: for audited reads (views, previews, exports)."""
    with store.transaction() as tx:
        record(tx, actor, action, target, detail)


@dataclass(frozen=True)
class Verification:
    events: int
    first_bad_seq: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


def verify(store: Store) -> Verification:
    """Recompute the chain; check each MAC when the audit key is configured; hold the log against
    every checkpoint in the anchor file. Names the first bad event."""
    secret = anchor.key()
    points, unreadable = anchor.read(path) if (path := anchor.anchor_path()) else ([], [])
    if unreadable:
        return Verification(0, 0, f"anchor file has lines that are not checkpoints: {', '.join(unreadable)}")
    for point in points:
        if secret is not None and (
            point.mac is None or not hmac.compare_digest(point.mac, anchor.mac(secret, point.text()))
        ):
            return Verification(0, point.seq, f"checkpoint at seq {point.seq} does not carry a valid MAC")
    expected = {p.seq: p for p in points}
    signed_from = min((p.signed_from for p in points if p.signed_from), default=None)
    prev = GENESIS
    expected_seq = 1
    count = 0
    with store.session() as session:
        for event in session.scalars(
            select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=5000)
        ):
            count += 1
            if event.seq != expected_seq:
                return Verification(
                    count, event.seq, f"sequence gap: expected {expected_seq}, found {event.seq}"
                )
            if event.prev_hash != prev:
                return Verification(count, event.seq, "previous-hash link broken")
            recomputed = event_hash(
                event.prev_hash, event.seq, event.at, event.actor, event.action, event.target, event.detail
            )
            if recomputed != event.hash:
                return Verification(count, event.seq, "event content does not match its hash")
            if secret is not None:
                if event.mac is not None:
                    signed_from = signed_from or event.seq
                    if not hmac.compare_digest(event.mac, anchor.mac(secret, event.hash)):
                        return Verification(
                            count, event.seq, "MAC does not match: rewritten without the audit key"
                        )
                elif signed_from is not None and event.seq >= signed_from:
                    return Verification(count, event.seq, "MAC missing on an event after signing began")
            seen = expected.get(event.seq)
            if seen is not None and seen.hash != event.hash:
                return Verification(count, event.seq, f"differs from the checkpoint written at {seen.at}")
            prev = event.hash
            expected_seq += 1
    last = max(expected, default=0)
    if last >= expected_seq:
        return Verification(
            count,
            expected_seq,
            f"log ends at seq {expected_seq - 1}; a checkpoint saw seq {last}: events were cut off",
        )
    return Verification(count, None, None)


def checkpoint(store: Store, unless_at: int | None = None) -> anchor.Checkpoint | None:
    """Write the chain head to the anchor file ($VIGIL_AUDIT_ANCHOR); None when none is configured,
    the log is empty, or its head is still at `unless_at` (nothing new to anchor)."""
    path = anchor.anchor_path()
    if path is None:
        return None
    with store.session() as session:
        head = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
        first_signed = session.scalar(select(func.min(AuditEvent.seq)).where(AuditEvent.mac.is_not(None)))
    if head is None or head.seq == unless_at:
        return None
    secret = anchor.key()
    point = anchor.Checkpoint(head.seq, head.hash, first_signed, utcnow().isoformat(), None)
    point = anchor.Checkpoint(
        point.seq,
        point.hash,
        point.signed_from,
        point.at,
        anchor.mac(secret, point.text()) if secret else None,
    )
    anchor.append(point, path)
    return point


def action_counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return dict(Counter(session.scalars(select(AuditEvent.action))))


def last_event(tx: Tx, actor: Actor, target: str, actions: tuple[str, ...]) -> AuditEvent | None:
    """The newest event by this actor on this target among these actions."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.actor == actor.label, AuditEvent.target == target, AuditEvent.action.in_(actions))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return tx.scalars(query).first()


@dataclass(frozen=True)
class ViewRecord:
    """One audited sight of a file: who (actor label), when (ISO time) and how (the action)."""

    actor: str
    at: str
    action: str


def detail_of(event: AuditEvent) -> dict[str, Any]:
    value = json.loads(event.detail or "{}")
    return value if isinstance(value, dict) else {}


def events_on(tx: Tx, target: str, actions: tuple[str, ...]) -> list[AuditEvent]:
    """Every event on this target among these actions, oldest first, by any actor."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.target == target, AuditEvent.action.in_(actions))
        .order_by(AuditEvent.seq)
    )
    return list(tx.scalars(query))


def events(
    store: Store,
    *,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Events in order, optionally filtered (actor by its label, `role:name`)."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if target is not None:
        query = query.where(AuditEvent.target == target)
    if limit is not None:
        query = query.order_by(None).order_by(AuditEvent.seq.desc()).limit(limit)
    with store.session() as session:
        found = list(session.scalars(query))
    return sorted(found, key=lambda e: e.seq)
