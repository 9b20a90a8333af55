"""Review-UI sessions: server-side, random, short-lived, and bound to a CSRF token.

The browser holds only a random session id (never the API key). The store keeps its SHA-256, the
key it belongs to, a synchronizer CSRF token and the times that end it: 30 minutes idle, 12 hours in
all, logout, or revocation of the key. Every login, failed login and logout is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.core.actor import Actor
from vigil.core.clock import aware, utcnow
from vigil.review.keys import authenticate
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import UiSession
from vigil.store.repo import sessions as repo

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most this often
ANONYMOUS = Actor.system("ui")  # who failed logins are recorded under


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf: str
    flash: str | None = None
    started: datetime | None = None  # when this login began (exposure per session counts from it)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def login(store: Store, key: str, client: str = "") -> tuple[str, Actor] | None:
    """A new session for a valid key: (session id for the cookie, actor); None (audited) otherwise."""
    who = authenticate(store, key)
    if who is None or who.key_id is None:
        audit.log(store, ANONYMOUS, "ui.login_failed", None, {"client": client})
        return None
    session_id = secrets.token_urlsafe(32)
    with store.transaction() as tx:
        tx.add(UiSession(id_hash=_hash(session_id), key_id=who.key_id, csrf=secrets.token_urlsafe(32)))
        audit.record(tx, who, "ui.login", None, {"client": client})
    return session_id, who


def resolve(
    store: Store, session_id: str | None, now: datetime | None = None, *, take_flash: bool = True
) -> Session | None:
    """The live session behind a cookie, or None when it is unknown, ended, idle or too old.

    Reading it takes (and clears) the one pending flash message, unless `take_flash` is false.
    """
    if not session_id:
        return None
    now = now or utcnow()
    with store.transaction() as tx:
        found = repo.live(tx, _hash(session_id))
        if found is None:
            return None
        row, key = found
        if now - aware(row.last_seen_at) > IDLE or now - aware(row.created_at) > ABSOLUTE:
            row.ended_at = now
            return None
        if now - aware(row.last_seen_at) > TOUCH_EVERY:
            row.last_seen_at = now
        flash = row.flash
        if take_flash:
            row.flash = None
        return Session(Actor(key.name, key.role, key.id), row.csrf, flash, aware(row.created_at))


def csrf_ok(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf.encode(), (token or "").encode())


def flash(store: Store, session_id: str, message: str) -> None:
    with store.transaction() as tx:
        row = tx.get(UiSession, _hash(session_id))
        if row is not None:
            row.flash = message[:500]


def logout(store: Store, session_id: str | None) -> None:
    if not session_id:
        return
    with store.transaction() as tx:
        found = repo.live(tx, _hash(session_id))
        if found is None:
            return
        row, key = found
        row.ended_at = utcnow()
        audit.record(tx, Actor(key.name, key.role, key.id), "ui.logout")
