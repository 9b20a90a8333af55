"""The takedown desk's own clock: re-check, escalate and (re)send on an interval, no cron needed.

Each round re-checks every open URL first (so nothing removed gets another reminder), then refers URLs
past the ladder's deadline to the hotline of their hosting country, then sends what is due. A round
that fails is logged and the next one runs: a mail server down for an hour delays notices, it does not
stop the desk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from vigil.actions.takedown import notices
from vigil.actions.takedown.desk import Desk
from vigil.actions.takedown.outbox import OutboxConfig
from vigil.core.actor import Actor
from vigil.core.clock import utcnow
from vigil.store.db import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    at: datetime
    rechecked: dict[str, int]
    escalated: list[int]
    sent: list[tuple[int, str]]


def run_round(
    store: Store, actor: Actor, desk: Desk, config: OutboxConfig, now: datetime | None = None
) -> Round:
    now = now or utcnow()
    rechecked = notices.recheck(store, actor, now, desk.resolve)
    escalated = notices.escalate(store, actor, desk, now)
    sent = notices.send_due(store, actor, config, now, desk)
    return Round(now, rechecked, escalated, sent)


def run_every(
    store: Store,
    actor: Actor,
    desk: Desk,
    config: OutboxConfig,
    seconds: float,
    *,
    rounds: int | None = None,
    report: Callable[[Round], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run rounds `seconds` apart until `rounds` have run or `stop` is set; returns rounds run."""
    stop = stop or threading.Event()
    done = 0
    while rounds is None or done < rounds:
        try:
            result = run_round(store, actor, desk, config)
            if report is not None:
                report(result)
        except Exception:  # the next round tries again
            log.exception("takedown round failed")
        done += 1
        if (rounds is not None and done >= rounds) or stop.wait(seconds):
            break
    return done
