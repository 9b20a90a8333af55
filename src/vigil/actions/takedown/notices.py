"""The notice lifecycle: open (after human confirmation) -> send -> re-check every 24 h -> removed.

A re-check fetches the URL: gone (404/410) or changed content (its SHA-256 differs from what was
confirmed) counts as removed and records when; still there, and the last notice is 24 h old, means
another notice. Every step is audited. Removal time is what hotlines report on.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment

from vigil.actions.takedown.contacts import ContactBook
from vigil.actions.takedown.outbox import TRANSPORTS, Notice, OutboxConfig
from vigil.core.actor import Actor
from vigil.core.clock import aware, utcnow
from vigil.core.errors import Conflict, NotFound
from vigil.core.states import HitStatus, NoticeStatus, ReviewSource, ReviewStatus
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import CrawlHit, TakedownNotice
from vigil.store.repo import review as review_repo
from vigil.store.repo import takedown as repo
from vigil.web import urls
from vigil.web.fetch import get_sync

RENOTICE_AFTER = timedelta(hours=24)
TEMPLATE = Environment(autoescape=False).from_string("""\
Reference: {{ reference }}

We found content at the address below that matches a hash list of known child sexual abuse material
maintained by {{ lists }}. A trained reviewer confirmed the match on {{ confirmed }}.
Please remove it and preserve related records for law enforcement.

URL: {{ url }}
{% if page %}Found on page: {{ page }}
{% endif %}SHA-256 of the content: {{ sha }}
{% if sends %}This is reminder number {{ sends }}; the content was still reachable on {{ checked }}.
{% endif %}
Please do not reply with the content itself. Reply to this address quoting the reference.
""")


def open_notice(
    store: Store,
    actor: Actor,
    url: str,
    *,
    confirmed_by: str,
    reason: str,
    contacts: ContactBook,
    hit_id: int | None = None,
    content_sha256: str | None = None,
) -> TakedownNotice:
    """A notice for content a person confirmed at `url`; `confirmed_by` names who confirmed it."""
    contact = contacts.lookup(url)
    with store.transaction() as session:
        existing = repo.open_for_url(session, url)
        if existing is not None:
            raise Conflict(f"notice {existing.id} is already open for {url}")
        notice = TakedownNotice(
            url=url,
            host=urls.host(url),
            contact=contact.address,
            channel=contact.channel,
            reason=reason,
            confirmed_by=confirmed_by,
            hit_id=hit_id,
            content_sha256=content_sha256,
            status=NoticeStatus.OPEN,
        )
        session.add(notice)
        session.flush()
        audit.record(
            session,
            actor,
            "takedown.open",
            f"notice:{notice.id}",
            {"url": url, "contact": contact.address, "confirmed_by": confirmed_by},
        )
        return notice


def open_from_hit(store: Store, actor: Actor, hit_id: int, contacts: ContactBook) -> TakedownNotice:
    """The single-reviewer path for small teams: `actor` confirms the hit and opens its notice."""
    with store.transaction() as session:
        hit = session.get(CrawlHit, hit_id)
        if hit is None:
            raise NotFound(f"no crawl hit {hit_id}")
        hit.status = HitStatus.CONFIRMED
        lists = sorted({x["list"] for m in hit.detail.get("matches", []) for x in m.get("lists", [])})
        page, image, sha = hit.page_url, hit.image_url, hit.image_sha256
        audit.record(session, actor, "crawl.hit_confirmed", f"hit:{hit_id}", {"image": image, "page": page})
    return open_notice(
        store,
        actor,
        image,
        confirmed_by=actor.label,
        contacts=contacts,
        hit_id=hit_id,
        content_sha256=sha,
        reason=f"lists: {', '.join(lists)}; page: {page}",
    )


def open_from_review(store: Store, actor: Actor, item_id: int, contacts: ContactBook) -> list[TakedownNotice]:
    """Notices for a crawl item the reviewers confirmed (N-of-M): the image URL, signed by its reviewers."""
    with store.transaction() as session:
        item = review_repo.item(session, item_id)
        if item is None or item.source != ReviewSource.CRAWL:
            raise NotFound(f"no crawl review item {item_id}")
        if item.status != ReviewStatus.CONFIRMED:
            raise Conflict(f"review item {item_id} is {item.status}; only confirmed items get notices")
        reviewers = review_repo.reviewer_names(session, item_id)
        for hit in repo.queued_hits_for(session, item.sha256):
            hit.status = HitStatus.CONFIRMED
        context, lists = item.context, item.reason.get("lists", [])
    return [
        open_notice(
            store,
            actor,
            context["image_url"],
            confirmed_by=" and ".join(reviewers),
            contacts=contacts,
            content_sha256=item.sha256,
            reason=f"lists: {', '.join(lists)}; page: {context['pages'][0] if context['pages'] else ''}",
        )
    ]


def _render(n: TakedownNotice, now: datetime, sender: str) -> Notice:
    reference = f"VIGIL-TD-{n.id}"
    lists, _, page = n.reason.partition("; page: ")
    body = TEMPLATE.render(
        reference=reference,
        lists=lists.replace("lists: ", "") or "the operator",
        confirmed=n.created_at.date().isoformat(),
        url=n.url,
        page=page,
        sha=n.content_sha256 or "n/a",
        sends=n.sends,
        checked=(n.last_check_at or now).isoformat(timespec="minutes"),
    )
    subject = f"[{reference}] Removal request: child sexual abuse material at {n.host}"
    return Notice(reference, n.contact, subject, body, sender)


def send_due(
    store: Store, actor: Actor, config: OutboxConfig, now: datetime | None = None
) -> list[tuple[int, str]]:
    """Send every open notice never sent, or last sent 24 h or more ago."""
    now = now or utcnow()
    sent = []
    with store.transaction() as session:
        for n in repo.open_notices(session):
            if n.last_sent_at is not None and now - aware(n.last_sent_at) < RENOTICE_AFTER:
                continue
            receipt = TRANSPORTS.get(n.channel)(_render(n, now, config.sender), config)
            n.sends += 1
            n.first_sent_at = n.first_sent_at or now
            n.last_sent_at = now
            audit.record(
                session,
                actor,
                "takedown.sent",
                f"notice:{n.id}",
                {"to": n.contact, "send": n.sends, "receipt": receipt},
            )
            sent.append((n.id, receipt))
    return sent


REMOVED_STATUSES = (404, 410)  # the URL is gone: removal, no question
CANDIDATE_STATUSES = (403, 451)  # forbidden or legally unavailable: maybe removed, maybe blocked for us


def _verdict(status: int, changed: bool) -> tuple[NoticeStatus, str]:
    """What one re-check says: removed, a removal candidate for a person to confirm, or present."""
    if status in REMOVED_STATUSES:
        return NoticeStatus.REMOVED, f"HTTP {status}"
    if 300 <= status < 400:
        return NoticeStatus.CANDIDATE, f"HTTP {status}: redirected away"
    if status in CANDIDATE_STATUSES:
        return NoticeStatus.CANDIDATE, f"HTTP {status}"
    if status == 200 and changed:
        return NoticeStatus.CANDIDATE, "HTTP 200 (content changed)"
    return NoticeStatus.OPEN, f"HTTP {status}"


def recheck(
    store: Store, actor: Actor, now: datetime | None = None, resolve: dict[str, str] | None = None
) -> dict[str, int]:
    """Fetch each open notice's URL (and each removal candidate's). 404 or 410 is a removal. A
    redirect away, 403, 451 or changed content could be removal or could be the host hiding the file
    from us, so the notice becomes a removal candidate: reminders stop and a person confirms
    (`confirm_removal`). The same content back at the URL reopens a candidate."""
    now = now or utcnow()
    counts: Counter[str] = Counter()
    with store.transaction() as session:
        for n in repo.checkable_notices(session):
            try:
                got = get_sync(n.url, resolve)
                changed = (
                    n.content_sha256 is not None and hashlib.sha256(got.body).hexdigest() != n.content_sha256
                )
                verdict, result = _verdict(got.status, got.status == 200 and changed)
            except Exception as exc:  # unreachable hosts stay as they are: a dead DNS name may come back
                verdict, result = n.status, f"unreachable: {type(exc).__name__}"
            n.last_check_at, n.last_check = now, result
            if verdict == NoticeStatus.REMOVED:
                n.status, n.removed_at = NoticeStatus.REMOVED, n.candidate_at or now
                _audit_removed(session, actor, n, now, result)
            elif verdict == NoticeStatus.CANDIDATE and result == n.present_check:
                verdict = NoticeStatus.OPEN  # a person already ruled this very answer "still there"
            elif verdict == NoticeStatus.CANDIDATE and n.status != NoticeStatus.CANDIDATE:
                n.status, n.candidate_at = NoticeStatus.CANDIDATE, now
                audit.record(
                    session,
                    actor,
                    "takedown.removal_candidate",
                    f"notice:{n.id}",
                    {"url": n.url, "check": result},
                )
            elif verdict == NoticeStatus.OPEN and n.status == NoticeStatus.CANDIDATE:
                n.status, n.candidate_at = NoticeStatus.OPEN, None
                audit.record(session, actor, "takedown.reopened", f"notice:{n.id}", {"check": result})
            counts[
                {"removed": "removed", "candidate": "removal_candidate"}.get(verdict.value, "still_present")
            ] += 1
    return dict(counts)


def _audit_removed(session: Tx, actor: Actor, n: TakedownNotice, now: datetime, check: str) -> None:
    started = aware(n.first_sent_at or n.created_at)
    removed = aware(n.removed_at or now)
    audit.record(
        session,
        actor,
        "takedown.removed",
        f"notice:{n.id}",
        {
            "url": n.url,
            "check": check,
            "hours_since_notice": round((removed - started).total_seconds() / 3600, 2),
        },
    )


def confirm_removal(store: Store, actor: Actor, notice_id: int, removed: bool, note: str = "") -> None:
    """A person's verdict on a removal candidate: removed (as of when it first looked gone), or
    still present (reminders resume)."""
    with store.transaction() as session:
        n = session.get(TakedownNotice, notice_id)
        if n is None:
            raise NotFound(f"no notice {notice_id}")
        if n.status != NoticeStatus.CANDIDATE:
            raise Conflict(f"notice {notice_id} is {n.status.value}, not a removal candidate")
        if removed:
            n.status, n.removed_at = NoticeStatus.REMOVED, n.candidate_at or utcnow()
            _audit_removed(session, actor, n, utcnow(), f"confirmed by a person: {note}".strip(": "))
        else:
            n.status, n.candidate_at, n.present_check = NoticeStatus.OPEN, None, n.last_check
            audit.record(session, actor, "takedown.still_present", f"notice:{notice_id}", {"note": note})


@dataclass(frozen=True)
class TakedownStats:
    open: int
    removed: int
    median_removal_hours: float | None
    open_by_host: dict[str, int]
    notices_sent: int
    candidates: int = 0  # removal candidates waiting for a person (`vigil takedown confirm`)


def stats(store: Store) -> TakedownStats:
    with store.session() as session:
        rows = repo.all_notices(session)
    removed = [
        (aware(r.removed_at) - aware(r.first_sent_at or r.created_at)).total_seconds() / 3600
        for r in rows
        if r.status == NoticeStatus.REMOVED and r.removed_at
    ]
    open_rows = [r for r in rows if r.status == NoticeStatus.OPEN]
    return TakedownStats(
        len(open_rows),
        len(removed),
        statistics.median(removed) if removed else None,
        dict(Counter(r.host for r in open_rows).most_common()),
        sum(r.sends for r in rows),
        sum(1 for r in rows if r.status == NoticeStatus.CANDIDATE),
    )


def listing(store: Store) -> list[dict[str, Any]]:
    with store.session() as session:
        return [
            {
                "id": r.id,
                "url": r.url,
                "host": r.host,
                "status": r.status.value,
                "contact": r.contact,
                "sends": r.sends,
                "last_check": r.last_check,
                "removed_at": r.removed_at.isoformat() if r.removed_at else None,
            }
            for r in repo.all_notices(session)
        ]
