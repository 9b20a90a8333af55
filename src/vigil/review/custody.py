"""The evidence desk: what is preserved, its custody trail and whether it holds, holds and release.

Listing and viewing evidence metadata is audited; the file itself is only opened by `Vault.read`
(a custody event). Holds are placed and released with a reason, both written to the custody trail
and the audit log. Admins (the `evidence` permission) manage holds; auditors may look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vigil.core.actor import Actor, Permission
from vigil.core.clock import aware
from vigil.core.errors import Forbidden, InvalidInput, NotFound
from vigil.review.evidence import Vault, custody_problem
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import Evidence
from vigil.store.repo import evidence as repo


@dataclass(frozen=True)
class Held:
    """One piece of evidence as the desk lists it."""

    id: int
    review_item_id: int
    sha256: str
    md5: str
    size: int
    legal_hold: bool
    retain_until: datetime
    created_at: datetime
    deleted_at: datetime | None
    problem: str | None  # why its custody trail cannot be trusted; None when it holds


@dataclass(frozen=True)
class Step:
    action: str
    actor: str
    at: datetime
    detail: dict[str, Any]
    chain_hash: str
    signed: bool


@dataclass(frozen=True)
class Dossier:
    evidence: Held
    context: dict[str, Any]
    custody: tuple[Step, ...]


def _may_look(actor: Actor) -> None:
    if not (actor.can(Permission.EVIDENCE) or actor.can(Permission.AUDIT)):
        raise Forbidden(f"role {actor.role} cannot see evidence")


def _held(row: Evidence, problem: str | None) -> Held:
    return Held(
        row.id,
        row.review_item_id,
        row.sha256,
        row.md5,
        row.size,
        row.legal_hold,
        aware(row.retain_until),
        aware(row.created_at),
        aware(row.deleted_at) if row.deleted_at else None,
        problem,
    )


def listing(store: Store, actor: Actor) -> list[Held]:
    """Every piece of evidence with its hold and whether its custody trail verifies (audited)."""
    _may_look(actor)
    with store.transaction() as tx:
        rows = [_held(row, custody_problem(tx, row.id)) for row in repo.all_evidence(tx)]
        audit.record(tx, actor, "evidence.list", None, {"count": len(rows)})
    return rows


def dossier(store: Store, actor: Actor, evidence_id: int) -> Dossier:
    """One piece of evidence: metadata, the context frozen with it, its custody trail (audited)."""
    _may_look(actor)
    with store.transaction() as tx:
        row = tx.get(Evidence, evidence_id)
        if row is None:
            raise NotFound(f"no evidence {evidence_id}")
        steps = tuple(
            Step(e.action, e.actor, aware(e.at), dict(e.detail or {}), e.chain_hash, e.mac is not None)
            for e in repo.custody(tx, evidence_id)
        )
        found = Dossier(_held(row, custody_problem(tx, evidence_id)), dict(row.context or {}), steps)
        audit.record(tx, actor, "evidence.view", f"evidence:{evidence_id}")
    return found


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput("a hold is placed or released with a reason")
    return reason.strip()


def release(store: Store, vault: Vault, actor: Actor, evidence_id: int, reason: str) -> None:
    """Release a legal hold (admins only), with the reason in the custody trail."""
    reason = _reason(reason)
    with store.transaction() as tx:
        vault.release_hold(tx, evidence_id, actor, reason)


def hold(store: Store, vault: Vault, actor: Actor, evidence_id: int, reason: str) -> None:
    """Place a legal hold again (a new request from an authority), with the reason."""
    reason = _reason(reason)
    with store.transaction() as tx:
        vault.place_hold(tx, evidence_id, actor, reason)
