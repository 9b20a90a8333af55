"""API keys with roles. Keys are shown once at creation; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ApiKey, utcnow

# What each role may do. A permission names an action class, checked by the service.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "submitter": frozenset({"match", "submit"}),
    "reviewer": frozenset({"match", "review", "preview"}),
    "senior_reviewer": frozenset({"match", "review", "preview", "escalation", "report"}),
    "admin": frozenset(
        {
            "match",
            "submit",
            "review",
            "preview",
            "escalation",
            "report",
            "lists",
            "scan",
            "evidence",
            "audit",
            "keys",
        }
    ),
    "auditor": frozenset({"audit", "transparency"}),
}
ROLES = tuple(ROLE_PERMISSIONS)


@dataclass(frozen=True)
class Principal:
    id: int
    name: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: Store, name: str, role: str, actor: str = "cli") -> str:
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key = "vgl_" + secrets.token_urlsafe(32)
    with store.session() as session:
        session.add(ApiKey(name=name, role=role, key_hash=_digest(key)))
        audit.record(session, actor, "key.create", name, {"role": role})
        session.commit()
    return key


def authenticate(store: Store, key: str | None) -> Principal | None:
    if not key:
        return None
    with store.session() as session:
        found = session.scalar(
            select(ApiKey).where(ApiKey.key_hash == _digest(key), ApiKey.revoked_at.is_(None))
        )
        return Principal(found.id, found.name, found.role) if found else None


def revoke(store: Store, name: str, actor: str = "cli") -> bool:
    with store.session() as session:
        found = session.scalar(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
        if found is None:
            return False
        found.revoked_at = utcnow()
        audit.record(session, actor, "key.revoke", name)
        session.commit()
        return True


def list_keys(store: Store) -> list[dict[str, object]]:
    with store.session() as session:
        return [
            {
                "name": k.name,
                "role": k.role,
                "created_at": k.created_at.isoformat(),
                "revoked": k.revoked_at is not None,
            }
            for k in session.scalars(select(ApiKey).order_by(ApiKey.id))
        ]
