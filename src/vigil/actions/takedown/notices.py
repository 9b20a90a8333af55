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
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment
from sqlalchemy import select

from vigil.actions.takedown.contacts import ContactBook
from vigil.actions.takedown.outbox import TRANSPORTS, Notice, OutboxConfig
from vigil.core.errors import VigilError
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ApiKey, CrawlHit, ReviewItem, ReviewVote, TakedownNotice, utcnow
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


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def open_notice(
    store: Store,
    url: str,
    *,
    confirmed_by: str,
    reason: str,
    contacts: ContactBook,
    hit_id: int | None = None,
    content_sha256: str | None = None,
) -> TakedownNotice:
    contact = contacts.lookup(url)
    with store.session() as session:
        existing = session.scalar(
            select(TakedownNotice).where(TakedownNotice.url == url, TakedownNotice.status == "open")
        )
        if existing is not None:
            raise VigilError(f"notice {existing.id} is already open for {url}")
        notice = TakedownNotice(
            url=url,
            host=urls.host(url),
            contact=contact.address,
            channel=contact.channel,
            reason=reason,
            confirmed_by=confirmed_by,
            hit_id=hit_id,
            content_sha256=content_sha256,
            status="open",
        )
        session.add(notice)
        session.flush()
        audit.record(
            session, confirmed_by, "takedown.open", str(notice.id), {"url": url, "contact": contact.address}
        )
        session.commit()
        return notice


def open_from_hit(store: Store, hit_id: int, confirmed_by: str, contacts: ContactBook) -> TakedownNotice:
    with store.session() as session:
        hit = session.get(CrawlHit, hit_id)
        if hit is None:
            raise VigilError(f"no crawl hit {hit_id}")
        hit.status = "confirmed"
        lists = sorted({x["list"] for m in hit.detail.get("matches", []) for x in m.get("lists", [])})
        page, image, sha = hit.page_url, hit.image_url, hit.image_sha256
        audit.record(
            session, confirmed_by, "crawl.hit_confirmed", str(hit_id), {"image": image, "page": page}
        )
        session.commit()
    return open_notice(
        store,
        image,
        confirmed_by=confirmed_by,
        contacts=contacts,
        hit_id=hit_id,
        content_sha256=sha,
        reason=f"lists: {', '.join(lists)}; page: {page}",
    )


def open_from_review(store: Store, item_id: int, contacts: ContactBook) -> list[TakedownNotice]:
    """Notices for a crawl item the reviewers confirmed (N-of-M): the image URL, signed by its reviewers."""
    with store.session() as session:
        item = session.get(ReviewItem, item_id)
        if item is None or item.source != "crawl":
            raise VigilError(f"no crawl review item {item_id}")
        if item.status != "confirmed":
            raise VigilError(f"review item {item_id} is {item.status}; only confirmed items get notices")
        reviewers = sorted(
            {
                k.name
                for k in session.scalars(
                    select(ApiKey)
                    .join(ReviewVote, ReviewVote.reviewer_id == ApiKey.id)
                    .where(ReviewVote.item_id == item_id)
                )
            }
        )
        for hit in session.scalars(
            select(CrawlHit).where(CrawlHit.image_sha256 == item.sha256, CrawlHit.status == "queued")
        ):
            hit.status = "confirmed"
        session.commit()
        context, lists = item.context, item.reason.get("lists", [])
    return [
        open_notice(
            store,
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


def send_due(store: Store, config: OutboxConfig, now: datetime | None = None) -> list[tuple[int, str]]:
    """Send every open notice never sent, or last sent 24 h or more ago."""
    now = now or utcnow()
    sent = []
    with store.session() as session:
        for n in session.scalars(select(TakedownNotice).where(TakedownNotice.status == "open")):
            if n.last_sent_at is not None and now - _as_utc(n.last_sent_at) < RENOTICE_AFTER:
                continue
            receipt = TRANSPORTS.get(n.channel)(_render(n, now, config.sender), config)
            n.sends += 1
            n.first_sent_at = n.first_sent_at or now
            n.last_sent_at = now
            audit.record(
                session,
                "takedown",
                "takedown.sent",
                str(n.id),
                {"to": n.contact, "send": n.sends, "receipt": receipt},
            )
            sent.append((n.id, receipt))
        session.commit()
    return sent


def recheck(
    store: Store, now: datetime | None = None, resolve: dict[str, str] | None = None
) -> dict[str, int]:
    """Fetch each open notice's URL; gone or changed -> removed (with time), else still present."""
    now = now or utcnow()
    counts: Counter[str] = Counter()
    with store.session() as session:
        for n in session.scalars(select(TakedownNotice).where(TakedownNotice.status == "open")):
            try:
                got = get_sync(n.url, resolve)
                gone = got.status in (404, 410) or (
                    got.status == 200
                    and n.content_sha256 is not None
                    and hashlib.sha256(got.body).hexdigest() != n.content_sha256
                )
                result = f"HTTP {got.status}" + (" (content changed)" if got.status == 200 and gone else "")
            except Exception as exc:  # unreachable hosts stay open: a dead DNS name may come back
                gone, result = False, f"unreachable: {type(exc).__name__}"
            n.last_check_at, n.last_check = now, result
            if gone:
                n.status, n.removed_at = "removed", now
                audit.record(
                    session,
                    "takedown",
                    "takedown.removed",
                    str(n.id),
                    {
                        "url": n.url,
                        "hours_since_notice": round(
                            (now - _as_utc(n.first_sent_at or n.created_at)).total_seconds() / 3600, 2
                        ),
                    },
                )
            counts["removed" if gone else "still_present"] += 1
        session.commit()
    return dict(counts)


@dataclass(frozen=True)
class TakedownStats:
    open: int
    removed: int
    median_removal_hours: float | None
    open_by_host: dict[str, int]
    notices_sent: int


def stats(store: Store) -> TakedownStats:
    with store.session() as session:
        rows = session.scalars(select(TakedownNotice)).all()
    removed = [
        (_as_utc(r.removed_at) - _as_utc(r.first_sent_at or r.created_at)).total_seconds() / 3600
        for r in rows
        if r.status == "removed" and r.removed_at
    ]
    open_rows = [r for r in rows if r.status == "open"]
    return TakedownStats(
        len(open_rows),
        len(removed),
        statistics.median(removed) if removed else None,
        dict(Counter(r.host for r in open_rows).most_common()),
        sum(r.sends for r in rows),
    )


def listing(store: Store) -> list[dict[str, Any]]:
    with store.session() as session:
        return [
            {
                "id": r.id,
                "url": r.url,
                "host": r.host,
                "status": r.status,
                "contact": r.contact,
                "sends": r.sends,
                "last_check": r.last_check,
                "removed_at": r.removed_at.isoformat() if r.removed_at else None,
            }
            for r in session.scalars(select(TakedownNotice).order_by(TakedownNotice.id))
        ]
