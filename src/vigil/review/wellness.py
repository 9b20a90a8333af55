"""Reviewer wellness: how previews look to each reviewer, how much they have seen, when to pause.

Exposure is counted from the audit log (each `review.view` of an item is one exposure), so the
counter cannot drift from what was recorded. An admin sets the limits for everyone: a break prompt
after `break_after` items since the last break, and a hard `daily_cap` of items per UTC day.
Every change of a setting or a limit is audited with its old and new values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from vigil.core.actor import Actor, Permission
from vigil.core.clock import utcnow
from vigil.core.errors import Forbidden, InvalidInput
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import ReviewerSettings, WellnessLimits
from vigil.store.repo import wellness as repo

BLUR_RANGE = (6, 40)  # a "blurred" preview below 6 px of blur shows too much to count as blurred
SIZE_RANGE = (160, 640)


@dataclass(frozen=True)
class Look:
    """How previews are drawn for one reviewer."""

    blur: int = 14
    greyscale: bool = True
    preview_size: int = 320


@dataclass(frozen=True)
class Limits:
    break_after: int = 40  # items since the last break before a break is proposed
    break_minutes: int = 10
    daily_cap: int = 200  # items a reviewer may open in one UTC day


@dataclass(frozen=True)
class Exposure:
    """Items this reviewer opened today, in this session, and since their last break."""

    today: int
    session: int
    since_break: int
    on_break_until: datetime | None
    limits: Limits

    @property
    def capped(self) -> bool:
        return self.today >= self.limits.daily_cap

    @property
    def break_due(self) -> bool:
        return self.since_break >= self.limits.break_after


def look(store: Store, reviewer: Actor) -> Look:
    if reviewer.key_id is None:
        return Look()
    with store.session() as tx:
        row = tx.get(ReviewerSettings, reviewer.key_id)
    return Look(row.blur, row.greyscale, row.preview_size) if row else Look()


def _bounded(name: str, value: int, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}")
    return value


def set_look(store: Store, reviewer: Actor, wanted: Look) -> Look:
    """Change one's own preview settings (audited with the values before and after)."""
    if reviewer.key_id is None or not reviewer.can(Permission.PREVIEW):
        raise Forbidden(f"role {reviewer.role} has no previews to set")
    new = Look(
        _bounded("blur", wanted.blur, BLUR_RANGE),
        bool(wanted.greyscale),
        _bounded("preview size", wanted.preview_size, SIZE_RANGE),
    )
    with store.transaction() as tx:
        row = tx.get(ReviewerSettings, reviewer.key_id)
        before = Look(row.blur, row.greyscale, row.preview_size) if row else Look()
        if row is None:
            row = ReviewerSettings(reviewer_id=reviewer.key_id)
            tx.add(row)
        row.blur, row.greyscale, row.preview_size = new.blur, new.greyscale, new.preview_size
        row.updated_at = utcnow()
        audit.record(
            tx,
            reviewer,
            "wellness.settings",
            f"key:{reviewer.key_id}",
            {"before": asdict(before), "after": asdict(new)},
        )
    return new


def limits(store: Store) -> Limits:
    with store.session() as tx:
        return _limits(tx)


def _limits(tx: Tx) -> Limits:
    row = tx.get(WellnessLimits, 1)
    return Limits(row.break_after, row.break_minutes, row.daily_cap) if row else Limits()


def set_limits(store: Store, admin: Actor, wanted: Limits) -> Limits:
    """The admin's exposure limits for every reviewer (audited with before and after)."""
    if not admin.can(Permission.KEYS):
        raise Forbidden(f"role {admin.role} cannot set wellness limits (admins do)")
    new = Limits(
        _bounded("break after", wanted.break_after, (1, 1000)),
        _bounded("break minutes", wanted.break_minutes, (1, 120)),
        _bounded("daily cap", wanted.daily_cap, (1, 5000)),
    )
    with store.transaction() as tx:
        before = _limits(tx)
        row = tx.get(WellnessLimits, 1)
        if row is None:
            row = WellnessLimits(id=1)
            tx.add(row)
        row.break_after, row.break_minutes, row.daily_cap = new.break_after, new.break_minutes, new.daily_cap
        row.updated_at = utcnow()
        audit.record(tx, admin, "wellness.limits", None, {"before": asdict(before), "after": asdict(new)})
    return new


def exposure(store: Store, reviewer: Actor, session_start: datetime, now: datetime | None = None) -> Exposure:
    """Counted from the audit log: distinct items viewed today, this session and since the last break."""
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with store.session() as tx:
        found = _limits(tx)
        last_break = repo.last_of(tx, reviewer.label, ("wellness.break",))
        last_reset = repo.last_of(tx, reviewer.label, ("wellness.break", "wellness.break_skipped"))
        since = max(session_start, last_reset) if last_reset else session_start
        today = repo.items_viewed(tx, reviewer.label, midnight)
        session = repo.items_viewed(tx, reviewer.label, session_start)
        since_break = repo.items_viewed(tx, reviewer.label, since)
    until = last_break + timedelta(minutes=found.break_minutes) if last_break else None
    return Exposure(today, session, since_break, until if until and until > now else None, found)


def take_break(store: Store, reviewer: Actor) -> None:
    """Start a break now: the exposure since the last break starts again from zero (audited)."""
    audit.log(store, reviewer, "wellness.break", None)


def skip_break(store: Store, reviewer: Actor, since_break: int) -> None:
    """Go on without the proposed break (recorded, so a supervisor can see it); the prompt comes
    back after `break_after` more items."""
    audit.log(store, reviewer, "wellness.break_skipped", None, {"since_break": since_break})
