"""API keys: one per person or tool, with a role. Shown once at creation; only the SHA-256 is stored.

A key authenticates as an `Actor` whose audit label is `role:name`; creating and revoking keys are
audited under the operator or admin who did it.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from vigil.core.actor import KEY_ROLES, Actor, Role
from vigil.core.clock import utcnow
from vigil.core.errors import Conflict, InvalidInput, NotFound
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ApiKey
from vigil.store.repo import keys as repo
from vigil.store.repo import sessions as session_repo

PREFIX = "vgl_"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: Store, actor: Actor, name: str, role: Role | str) -> str:
    """A new key for `name`; returns the key itself, which is never stored."""
    chosen = next((r for r in KEY_ROLES if r.value == str(role)), None)
    if chosen is None:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in KEY_ROLES)}")
    if not name.strip():
        raise InvalidInput("a key needs a name (who it is for)")
    key = PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as tx:
        if repo.by_name(tx, name, active_only=False) is not None:
            raise Conflict(f"a key named {name!r} exists already (names identify reviewers; pick another)")
        tx.add(ApiKey(name=name, role=chosen, key_hash=digest(key)))
        audit.record(tx, actor, "key.create", name, {"role": chosen.value})
    return key


def authenticate(store: Store, key: str | None) -> Actor | None:
    if not key:
        return None
    with store.session() as tx:
        found = repo.by_digest(tx, digest(key))
        return Actor(found.name, found.role, found.id) if found else None


def revoke(store: Store, actor: Actor, name: str) -> None:
    """Revoke a key; its review-UI sessions end with it."""
    with store.transaction() as tx:
        found = repo.by_name(tx, name)
        if found is None:
            raise NotFound(f"no active key named {name!r}")
        found.revoked_at = utcnow()
        ended = session_repo.end_for_key(tx, found.id, found.revoked_at)
        audit.record(tx, actor, "key.revoke", name, {"sessions_ended": ended})


def rotate(store: Store, actor: Actor, name: str) -> str:
    """A new secret for the same key: the holder keeps their identity (votes, audit label, reviewer
    id), the old secret stops working at once and its sessions end. Returns the new key."""
    key = PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as tx:
        found = repo.by_name(tx, name)
        if found is None:
            raise NotFound(f"no active key named {name!r}")
        found.key_hash = digest(key)
        ended = session_repo.end_for_key(tx, found.id, utcnow())
        audit.record(tx, actor, "key.rotate", name, {"sessions_ended": ended})
    return key


def list_keys(store: Store) -> list[dict[str, Any]]:
    with store.session() as tx:
        return [
            {
                "name": k.name,
                "role": k.role.value,
                "created_at": k.created_at.isoformat(),
                "revoked": k.revoked_at is not None,
            }
            for k in repo.all_keys(tx)
        ]
