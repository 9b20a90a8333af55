"""The notice lifecycle: open (after human confirmation) -> send -> re-check every 24 h -> removed.

A re-check fetches the URL: gone (404/410) or changed content (its SHA-256 differs from what was
confirmed) counts as removed and records when; still there, and the last notice is 24 h old, means
another notice. Every step is audited. Removal time is what hotlines report on.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigil.actions.takedown.contacts import ContactBook
from vigil.actions.takedown.desk import Desk, Recipient
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


def open_notice(
    store: Store,
    actor: Actor,
    url: str,
    *,
    confirmed_by: str,
    reason: str,
    contacts: ContactBook | None = None,
    desk: Desk | None = None,
    hit_id: int | None = None,
    content_sha256: str | None = None,
) -> TakedownNotice:
    """Notices for content a person confirmed at `url` (`confirmed_by` names who): one to the site,
    and one to its hosting network or CDN when the desk's IP data knows it. Returns the site's."""
    desk = desk or Desk(contacts=contacts or ContactBook())
    recipients = desk.recipients(url)
    with store.transaction() as session:
        existing = repo.open_for_url(session, url)
        if existing is not None:
            raise Conflict(f"notice {existing.id} is already open for {url}")
        opened = [
            _add(session, actor, url, r, confirmed_by, reason, hit_id, content_sha256) for r in recipients
        ]
        return opened[0]


def _add(
    session: Tx,
    actor: Actor,
    url: str,
    recipient: Recipient,
    confirmed_by: str,
    reason: str,
    hit_id: int | None,
    content_sha256: str | None,
) -> TakedownNotice:
    network = recipient.network
    notice = TakedownNotice(
        url=url,
        host=urls.host(url),
        contact=recipient.contact.address,
        channel=recipient.contact.channel,
        role=recipient.role,
        ip=recipient.ip,
        asn=network.asn if network else None,
        provider=network.provider if network else None,
        country=(network.country or None) if network else None,
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
        {
            "url": url,
            "contact": notice.contact,
            "role": notice.role,
            "asn": notice.asn,
            "country": notice.country,
            "confirmed_by": confirmed_by,
        },
    )
    return notice


def open_from_hit(
    store: Store, actor: Actor, hit_id: int, contacts: ContactBook, desk: Desk | None = None
) -> TakedownNotice:
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
        desk=desk,
        hit_id=hit_id,
        content_sha256=sha,
        reason=f"lists: {', '.join(lists)}; page: {page}",
    )


def open_from_review(
    store: Store, actor: Actor, item_id: int, contacts: ContactBook, desk: Desk | None = None
) -> list[TakedownNotice]:
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
            desk=desk,
            content_sha256=item.sha256,
            reason=f"lists: {', '.join(lists)}; page: {context['pages'][0] if context['pages'] else ''}",
        )
    ]


def _render(n: TakedownNotice, now: datetime, sender: str, desk: Desk, first: datetime | None) -> Notice:
    reference = f"VIGIL-TD-{n.id}"
    lists, _, page = n.reason.partition("; page: ")
    body = desk.template(n.role, n.country).render(
        reference=reference,
        role=n.role,
        lists=lists.replace("lists: ", "") or "the operator",
        confirmed=n.created_at.date().isoformat(),
        url=n.url,
        page=page,
        sha=n.content_sha256 or "n/a",
        sends=n.sends,
        checked=(n.last_check_at or now).isoformat(timespec="minutes"),
        provider=n.provider or "unknown provider",
        asn=n.asn if n.asn is not None else "?",
        ip=n.ip or "unknown",
        country=n.country or "unknown",
        first_notice=first.isoformat(timespec="minutes") if first else "n/a",
    )
    subject = f"[{reference}] Removal request: child sexual abuse material at {n.host}"
    if n.role == "hotline":
        subject = f"[{reference}] Referral: child sexual abuse material hosted in {n.country}"
    return Notice(reference, n.contact, subject, body, sender)


def send_due(
    store: Store, actor: Actor, config: OutboxConfig, now: datetime | None = None, desk: Desk | None = None
) -> list[tuple[int, str]]:
    """Send every open notice never sent, or last sent 24 h or more ago. A hotline referral is sent
    once: the hotline works the case from there."""
    now, desk = now or utcnow(), desk or Desk()
    sent = []
    with store.transaction() as session:
        for n in repo.open_notices(session):
            if n.last_sent_at is not None and (
                n.role == "hotline" or now - aware(n.last_sent_at) < RENOTICE_AFTER
            ):
                continue
            first = repo.first_sent(session, n.url)
            receipt = TRANSPORTS.get(n.channel)(_render(n, now, config.sender, desk, first), config)
            n.sends += 1
            n.first_sent_at = n.first_sent_at or now
            n.last_sent_at = now
            audit.record(
                session,
                actor,
                "takedown.sent",
                f"notice:{n.id}",
                {"to": n.contact, "role": n.role, "send": n.sends, "receipt": receipt},
            )
            sent.append((n.id, receipt))
    return sent


def escalate(store: Store, actor: Actor, desk: Desk, now: datetime | None = None) -> list[int]:
    """The ladder's next step: a URL still up `desk.hotline_after` after its first notice is
    referred to the partner hotline of the country it is hosted in (once; audited)."""
    now = now or utcnow()
    opened = []
    with store.transaction() as session:
        for url, notices in repo.open_by_url(session).items():
            if any(n.role == "hotline" for n in notices):
                continue
            first = repo.first_sent(session, url)
            if first is None or now - first < desk.hotline_after:
                continue
            country = next((n.country for n in notices if n.country), None)
            hotline = desk.hotline_for(country)
            if hotline is None:
                continue
            name, contact = hotline
            source = notices[0]
            recipient = Recipient(
                "hotline",
                contact,
                desk.hosting.network(source.ip) if source.ip else None,
                source.ip,
            )
            notice = _add(
                session, actor, url, recipient, source.confirmed_by, source.reason, source.hit_id,
                source.content_sha256,
            )  # fmt: skip
            audit.record(
                session,
                actor,
                "takedown.escalated",
                f"notice:{notice.id}",
                {"url": url, "hotline": name, "country": country, "hours_up": _hours(now - first)},
            )
            opened.append(notice.id)
    return opened


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


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
    checked: dict[str, tuple[NoticeStatus, str]] = {}  # one fetch per URL, whoever its notices went to
    with store.transaction() as session:
        for n in repo.checkable_notices(session):
            if n.url not in checked:
                checked[n.url] = _check(n.url, n.content_sha256, n.status, resolve)
            verdict, result = checked[n.url]
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


def _check(
    url: str, sha256: str | None, status: NoticeStatus, resolve: dict[str, str] | None
) -> tuple[NoticeStatus, str]:
    try:
        got = get_sync(url, resolve)
        changed = sha256 is not None and hashlib.sha256(got.body).hexdigest() != sha256
        return _verdict(got.status, got.status == 200 and changed)
    except Exception as exc:  # unreachable hosts stay as they are: a dead DNS name may come back
        return status, f"unreachable: {type(exc).__name__}"


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
    still present (reminders resume). The verdict is on the URL: every notice for it follows."""
    with store.transaction() as session:
        n = session.get(TakedownNotice, notice_id)
        if n is None:
            raise NotFound(f"no notice {notice_id}")
        if n.status != NoticeStatus.CANDIDATE:
            raise Conflict(f"notice {notice_id} is {n.status.value}, not a removal candidate")
        for sibling in repo.candidates_for(session, n.url):
            if removed:
                sibling.status, sibling.removed_at = NoticeStatus.REMOVED, sibling.candidate_at or utcnow()
                _audit_removed(
                    session, actor, sibling, utcnow(), f"confirmed by a person: {note}".strip(": ")
                )
            else:
                sibling.status, sibling.candidate_at = NoticeStatus.OPEN, None
                sibling.present_check = sibling.last_check
                audit.record(session, actor, "takedown.still_present", f"notice:{sibling.id}", {"note": note})


@dataclass(frozen=True)
class RemovalTimes:
    """Hours from the first notice for a URL to its removal, over the URLs of one provider or country."""

    urls: int
    p50: float
    p90: float
    slowest: float


@dataclass(frozen=True)
class TakedownStats:
    open: int
    removed: int
    median_removal_hours: float | None
    open_by_host: dict[str, int]
    notices_sent: int
    candidates: int = 0  # removal candidates waiting for a person (`vigil takedown confirm`)
    by_provider: dict[str, RemovalTimes] = field(default_factory=dict)
    by_country: dict[str, RemovalTimes] = field(default_factory=dict)


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (no interpolation: a time that was measured)."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _times(hours: list[float]) -> RemovalTimes:
    ordered = sorted(hours)
    return RemovalTimes(
        len(ordered),
        round(_percentile(ordered, 0.5), 2),
        round(_percentile(ordered, 0.9), 2),
        round(ordered[-1], 2),
    )


def stats(store: Store) -> TakedownStats:
    """Counts, and removal times per URL (first notice to removal) overall, per hosting provider
    (AS number and name) and per hosting country."""
    with store.session() as session:
        rows = repo.all_notices(session)
    by_url: dict[str, list[TakedownNotice]] = defaultdict(list)
    for r in rows:
        by_url[r.url].append(r)
    hours: dict[str, float] = {}
    for url, notices in by_url.items():
        removed = [aware(n.removed_at) for n in notices if n.status == NoticeStatus.REMOVED and n.removed_at]
        started = [aware(n.first_sent_at or n.created_at) for n in notices]
        if removed:
            hours[url] = (min(removed) - min(started)).total_seconds() / 3600
    providers: dict[str, list[float]] = defaultdict(list)
    countries: dict[str, list[float]] = defaultdict(list)
    for url, value in hours.items():
        hosted = next((n for n in by_url[url] if n.asn is not None), None)
        providers[f"AS{hosted.asn} {hosted.provider}" if hosted else "unknown"].append(value)
        countries[(hosted.country if hosted else None) or "unknown"].append(value)
    open_rows = [r for r in rows if r.status == NoticeStatus.OPEN]
    return TakedownStats(
        len(open_rows),
        len(hours),
        statistics.median(hours.values()) if hours else None,
        dict(Counter(r.host for r in open_rows).most_common()),
        sum(r.sends for r in rows),
        sum(1 for r in rows if r.status == NoticeStatus.CANDIDATE),
        {name: _times(values) for name, values in sorted(providers.items())},
        {name: _times(values) for name, values in sorted(countries.items())},
    )


def listing(store: Store, url: str | None = None) -> list[dict[str, Any]]:
    """Every notice, or those about one URL (its site, hosting and hotline notices)."""
    with store.session() as session:
        return [
            {
                "id": r.id,
                "url": r.url,
                "host": r.host,
                "status": r.status.value,
                "contact": r.contact,
                "role": r.role,
                "asn": r.asn,
                "provider": r.provider,
                "country": r.country,
                "sends": r.sends,
                "last_check": r.last_check,
                "removed_at": r.removed_at.isoformat() if r.removed_at else None,
            }
            for r in (repo.all_notices(session) if url is None else repo.notices_for(session, url))
        ]
