"""The reviewer workstation's rules, below the UI: leases, undo, no re-exposure, wellness, peeks.

Browser behaviour (keys, grid, pages per role) is in test_review_browser.py; these are the domain
rules it stands on, checked on the store directly (SQLite here, PostgreSQL in CI's second run).
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import update
from tests.conftest import OPERATOR, bsds_images, key_holder
from tests.test_scan import designate_known

from vigil.core.clock import utcnow
from vigil.core.errors import Conflict, Forbidden, InvalidInput
from vigil.core.states import ReviewStatus
from vigil.review import assign, links, transparency, wellness
from vigil.review import domain as review
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ReviewItem, ReviewLease

KNOWN = bsds_images()[300:303]


def _item(store: Store, sha: str, votes: int = 2, pdq: str | None = None) -> int:
    return review.submit_item(
        store,
        OPERATOR,
        sha256=sha,
        md5=None,
        path=None,
        media_type="image",
        reason={"matches": []},
        context={},
        priority=0.5,
        required_votes=votes,
        pdq=pdq,
    )


def _expire(store: Store, item_id: int, reviewer_id: int) -> None:
    with store.transaction() as tx:
        tx.execute(
            update(ReviewLease)
            .where(ReviewLease.item_id == item_id, ReviewLease.reviewer_id == reviewer_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def test_an_item_goes_to_as_many_reviewers_as_it_needs_and_an_expired_lease_frees_its_place(
    store: Store,
) -> None:
    item = _item(store, "a" * 64, votes=2)
    _, ann = key_holder(store, "ann", "reviewer")
    _, ben = key_holder(store, "ben", "reviewer")
    _, cat = key_holder(store, "cat", "reviewer")
    assert assign.next_item(store, ann) == item
    assert assign.next_item(store, ann) == item  # she still holds it: the same item again
    assert review.view_item(store, ben, item).lease_until is not None
    assert assign.next_item(store, cat) is None  # both places are leased
    with pytest.raises(assign.Taken):
        review.view_item(store, cat, item)
    with pytest.raises(assign.Taken):
        review.vote(store, cat, item, "reject")
    assert ann.key_id is not None
    _expire(store, item, ann.key_id)
    assert assign.next_item(store, cat) == item  # ann's place went to cat
    with pytest.raises(assign.Taken, match="your lease expired"):
        review.vote(store, ann, item, "reject")
    review.vote(store, ben, item, "reject")
    assert review.vote(store, cat, item, "reject").status == ReviewStatus.REJECTED
    leases = [e.detail for e in audit.events(store, action="review.lease", target=f"review:{item}")]
    assert len(leases) == 3  # ann, ben, cat: each lease is recorded


def test_a_vote_can_be_undone_briefly_unless_it_decided_the_item(store: Store) -> None:
    item = _item(store, "b" * 64, votes=2)
    _, ann = key_holder(store, "ann", "reviewer")
    _, ben = key_holder(store, "ben", "reviewer")
    review.vote(store, ann, item, "confirm", "caid", "B")
    assert assign.undoable(store, ann) is not None
    assert assign.undo(store, ann, item) == ReviewStatus.PENDING
    assert review.votes_of(store, item) == []
    assert review.view_item(store, ann, item).can_vote  # the lease came back
    review.vote(store, ann, item, "confirm", "caid", "C")
    with pytest.raises(Conflict, match="older"):
        assign.undo(store, ann, item, now=utcnow() + assign.UNDO_FOR + timedelta(seconds=1))
    review.vote(store, ben, item, "confirm", "caid", "B")  # disagrees on the category
    assert review.view_item(store, ben, item).item.status == ReviewStatus.ESCALATED
    assert assign.undo(store, ben, item) == ReviewStatus.PENDING  # the escalation was ben's vote
    review.vote(store, ben, item, "confirm", "caid", "C")
    with pytest.raises(Conflict, match="cannot be undone"):
        assign.undo(store, ben, item)  # this vote confirmed it: evidence and lists moved on
    undone = audit.events(store, action="review.vote_undone", target=f"review:{item}")
    assert [e.actor for e in undone] == ["reviewer:ann", "reviewer:ben"]


def test_a_rescan_is_linked_not_shown_again_and_copies_inherit_the_decision(
    store: Store, tmp_path: Path
) -> None:
    designate_known(store, KNOWN)
    folder = tmp_path / "uploads"
    folder.mkdir()
    for path in KNOWN:
        (folder / path.name).write_bytes(path.read_bytes())
    first = run_scan(store, OPERATOR, folder, ScanOptions(workers=1))
    assert review.enqueue_scan(store, OPERATOR, first, required_votes=1) == 3
    _, ann = key_holder(store, "ann", "reviewer")
    decided = assign.next_item(store, ann)
    assert decided is not None
    review.vote(store, ann, decided, "confirm", "caid", "A")
    preserved: list[int] = []

    def keep(tx: object, item: ReviewItem, actor: object) -> None:
        preserved.append(item.id)

    again = run_scan(store, OPERATOR, folder, ScanOptions(workers=1))
    assert review.enqueue_scan(store, OPERATOR, again, required_votes=1, hooks=(keep, None)) == 3
    with store.session() as tx:
        rescanned = list(tx.query(ReviewItem).filter(ReviewItem.id > 3).order_by(ReviewItem.id))
    assert all(i.linked_to is not None for i in rescanned)
    inherited = [i for i in rescanned if i.linked_to == decided]
    assert len(inherited) == 1 and inherited[0].status == ReviewStatus.CONFIRMED
    assert inherited[0].category == "A" and inherited[0].flags is None  # flags are not copied
    assert preserved == [inherited[0].id]  # the inherited confirmation preserved this copy too
    waiting = {i.id for i in review.queue(store, ann)}
    assert waiting == {1, 2, 3} - {decided}  # the copies are not queued again
    open_copy = next(i for i in rescanned if i.linked_to != decided)
    assert open_copy.status == ReviewStatus.PENDING
    review.vote(store, ann, assign.next_item(store, ann) or 0, "reject")
    review.vote(store, ann, assign.next_item(store, ann) or 0, "reject")
    with store.session() as tx:
        settled = [tx.get(ReviewItem, i.id) for i in rescanned]
    assert all(i is not None and i.status.decided for i in settled)  # copies inherited when decided
    assert assign.next_item(store, ann) is None
    links.requeue(store, ann, open_copy.id, "the uploader says it is a different picture")
    assert assign.next_item(store, ann) == open_copy.id
    stats = transparency.build(store)
    assert stats["inherited"] == 2  # the requeued copy no longer inherits
    assert sum(v["decided"] for v in stats["false_positives_by_match_kind"].values()) == 3  # human only


def test_a_re_encoded_copy_links_by_pdq_within_a_tight_radius(store: Store, tmp_path: Path) -> None:
    from vigil.signals.compute import compute

    source = KNOWN[0].read_bytes()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(source)).save(buffer, "JPEG", quality=60)
    first, copy = compute("a.jpg", source, "fast"), compute("b.jpg", buffer.getvalue(), "fast")
    assert first.sha256 != copy.sha256
    original = _item(store, first.sha256, votes=1, pdq=first.pdq)
    _, ann = key_holder(store, "ann", "reviewer")
    review.vote(store, ann, original, "reject")
    other = _item(store, copy.sha256, votes=1, pdq=copy.pdq)
    link = links.link_of(store, other)
    assert link is not None and link.to == original and link.by == "pdq" and link.distance <= 8
    unrelated = compute("c.jpg", bsds_images()[10].read_bytes(), "fast")
    assert links.link_of(store, _item(store, unrelated.sha256, votes=1, pdq=unrelated.pdq)) is None


def test_exposure_break_and_daily_cap_are_counted_from_the_audit_log(store: Store) -> None:
    _, ann = key_holder(store, "ann", "reviewer")
    _, boss = key_holder(store, "boss", "admin")
    with pytest.raises(Forbidden):
        wellness.set_limits(store, ann, wellness.Limits(2, 5, 3))
    wellness.set_limits(store, boss, wellness.Limits(break_after=2, break_minutes=5, daily_cap=3))
    start = utcnow() - timedelta(seconds=1)
    items = [_item(store, f"{n:064x}", votes=1) for n in range(1, 5)]
    for item in items[:2]:
        review.view_item(store, ann, item)
        review.view_item(store, ann, item)  # the same item twice is one exposure
    seen = wellness.exposure(store, ann, start)
    assert (seen.today, seen.session, seen.since_break, seen.break_due) == (2, 2, 2, True)
    wellness.take_break(store, ann)
    seen = wellness.exposure(store, ann, start)
    assert seen.since_break == 0 and seen.on_break_until is not None and not seen.break_due
    review.view_item(store, ann, items[2])
    seen = wellness.exposure(store, ann, start)
    assert seen.capped and seen.today == 3
    limits = audit.events(store, action="wellness.limits")
    assert audit.detail_of(limits[0])["after"]["daily_cap"] == 3


def test_preview_settings_are_bounded_and_audited_and_a_peek_counts_as_a_view(
    store: Store, tmp_path: Path
) -> None:
    from vigil.review.evidence import Vault

    _, ann = key_holder(store, "ann", "reviewer")
    with pytest.raises(InvalidInput, match="blur"):
        wellness.set_look(store, ann, wellness.Look(blur=1))
    wellness.set_look(store, ann, wellness.Look(blur=20, greyscale=False, preview_size=200))
    event = audit.events(store, action="wellness.settings")[0]
    assert audit.detail_of(event)["after"] == {"blur": 20, "greyscale": False, "preview_size": 200}
    vault = Vault.open(tmp_path / "vault", tmp_path / "keys" / "evidence.key")
    data = KNOWN[1].read_bytes()
    vault.quarantine(data)
    import hashlib

    item = _item(store, hashlib.sha256(data).hexdigest(), votes=1)
    look = wellness.look(store, ann)
    shown = Image.open(io.BytesIO(review.preview(store, ann, vault, item, False, look)))
    assert max(shown.size) == 200 and shown.mode == "RGB"
    with store.session() as tx:
        assert review.file_views(tx, item) == []
    review.peek(store, ann, item, 0.5, 0.5)
    review.preview(store, ann, vault, item, False, look, peek=True)
    with store.session() as tx:
        views = review.file_views(tx, item)
    assert [(v.actor, v.action) for v in views] == [("reviewer:ann", "review.peek")]


def test_the_json_api_leases_undoes_requeues_and_shows_evidence_per_role(
    store: Store, tmp_path: Path
) -> None:
    import hashlib

    import httpx
    from tests.conftest import ServerThread

    from vigil.actions.reports import domain as reports
    from vigil.core.states import SubmissionStatus
    from vigil.interfaces.api.app import ServiceConfig, create_app
    from vigil.review.evidence import Vault
    from vigil.store.repo import reports as report_repo
    from vigil.testing.fake_clearinghouse import create_fake

    holders = {
        name: key_holder(store, name, role)
        for name, role in (
            ("ann", "reviewer"),
            ("sam", "senior_reviewer"),
            ("ada", "admin"),
            ("aud", "auditor"),
        )
    }
    keys = {name: key for name, (key, _) in holders.items()}
    vault = Vault.open(tmp_path / "vault", tmp_path / "keys" / "evidence.key")
    data = KNOWN[2].read_bytes()
    vault.quarantine(data)
    item = _item(store, hashlib.sha256(data).hexdigest(), votes=1)
    copy = _item(store, hashlib.sha256(data).hexdigest(), votes=1)
    fake_app, fake = create_fake("esp", "pw")
    with ServerThread(fake_app) as clearinghouse:
        settings = reports.ReportSettings(
            reporter_email="tns@example.org",
            clearinghouse_url=clearinghouse.url,
            clearinghouse_user="esp",
            clearinghouse_password="pw",
        )
        app = create_app(store, vault, ServiceConfig(reports=settings, rate_per_second=0))
        with ServerThread(app) as server, httpx.Client(base_url=server.url) as api:

            def as_(name: str) -> dict[str, str]:
                return {"X-API-Key": keys[name]}

            leased = api.post("/v1/review/next", headers=as_("ann")).json()
            assert leased["item_id"] == item and leased["lease_until"]  # the copy is linked, not queued
            vote = {"decision": "confirm", "scheme": "caid", "category": "A"}
            api.post(f"/v1/review/{item}/vote", json=vote, headers=as_("sam"))  # no free place for sam
            assert api.post(f"/v1/review/{item}/vote", json=vote, headers=as_("sam")).status_code == 409
            assert (
                api.post(f"/v1/review/{item}/vote", json=vote, headers=as_("ann")).json()["status"]
                == "confirmed"
            )
            assert api.post(f"/v1/review/{item}/undo", headers=as_("ann")).status_code == 409  # it decided
            requeued = api.post(
                f"/v1/review/{copy}/requeue", json={"reason": "other uploader"}, headers=as_("ann")
            )
            assert requeued.status_code == 200
            assert api.post("/v1/review/next", headers=as_("ann")).json()["item_id"] == copy
            assert api.get("/v1/evidence", headers=as_("ann")).status_code == 403
            listed = api.get("/v1/evidence", headers=as_("aud")).json()
            held = [(e["review_item_id"], e["legal_hold"], e["problem"]) for e in listed]
            assert held == [(item, True, None), (copy, True, None)]  # the copy inherited, and kept it
            reason = {"reason": "case closed, ref 2026/114"}
            assert api.post("/v1/evidence/1/release", json=reason, headers=as_("aud")).status_code == 403
            released = api.post("/v1/evidence/1/release", json=reason, headers=as_("ada")).json()
            assert released["evidence"]["legal_hold"] is False
            assert [s["action"] for s in released["custody"]] == ["preserved", "hold_released"]
            draft = reports.draft(store, holders["sam"][1], item, settings)
            opened = httpx.post(
                f"{clearinghouse.url}/submit",
                content=draft["xml"],
                auth=("esp", "pw"),
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )
            remote = opened.text.split("<reportId>")[1].split("<")[0]
            with store.transaction() as tx:
                row = report_repo.submission(tx, draft["report_id"], for_update=True)
                assert row is not None
                row.status, row.remote_id = SubmissionStatus.SUBMITTED, remote  # as if the sender died
            body = {"reason": "sent twice by mistake"}
            retracted = api.post(f"/v1/reports/{draft['report_id']}/retract", json=body, headers=as_("sam"))
            assert retracted.json() == {"status": "retracted", "remote_id": remote, "failure": None}
            assert fake.reports[remote].status == "retracted"
            again = api.post(f"/v1/reports/{draft['report_id']}/retract", json=body, headers=as_("sam"))
            assert again.status_code == 409
