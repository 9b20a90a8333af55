"""Review: N-of-M agreement, escalation, roles; confirmed items become encrypted evidence on hold."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import OPERATOR, bsds_images
from tests.test_scan import designate_known

from vigil.core.errors import Forbidden, InvalidInput
from vigil.review import domain as review
from vigil.review.evidence import EvidenceError, Vault
from vigil.review.keys import authenticate, create_key
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import Evidence, ReviewItem

KNOWN = bsds_images()[100:103]


def _person(store: Store, name: str, role: str):
    principal = authenticate(store, create_key(store, OPERATOR, name, role))
    assert principal is not None
    return principal


@pytest.fixture
def queued(store: Store, tmp_path: Path) -> tuple[Store, list[int]]:
    designate_known(store, KNOWN)
    folder = tmp_path / "uploads"
    folder.mkdir()
    for path in KNOWN:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "other.jpg").write_bytes(bsds_images()[400].read_bytes())
    scan_id = run_scan(store, OPERATOR, folder, ScanOptions(workers=1))
    contexts = {
        KNOWN[0].name: {
            "uploader": "u-17",
            "ip_events": [{"ipAddress": "192.0.2.7", "dateTime": "2026-11-01T10:00:00Z", "port": 443}],
        }
    }
    assert review.enqueue_scan(store, OPERATOR, scan_id, contexts=contexts) == 3
    assert review.enqueue_scan(store, OPERATOR, scan_id) == 0  # idempotent
    with store.session() as session:
        ids = list(session.scalars(select(ReviewItem.id).order_by(ReviewItem.id)))
    return store, ids


def test_two_agreeing_reviewers_confirm_and_evidence_is_frozen(queued, tmp_path: Path) -> None:
    store, ids = queued
    vault = Vault.open(tmp_path / "vault", tmp_path / "keys" / "evidence.key")
    alice, bob = _person(store, "alice", "reviewer"), _person(store, "bob", "reviewer")

    def preserve(session, item, who):
        vault.preserve(session, item, who)

    first = review.vote(store, alice, ids[0], "confirm", "projectvic", "1", on_confirmed=preserve)
    assert first.status == "pending"
    with pytest.raises(review.ReviewError, match="once"):
        review.vote(store, alice, ids[0], "confirm", "projectvic", "1")
    second = review.vote(store, bob, ids[0], "confirm", "projectvic", "1", on_confirmed=preserve)
    assert second.status == "confirmed"
    with store.session() as session:
        evidence = session.scalars(select(Evidence)).one()
        assert evidence.context["uploader"] == "u-17" and evidence.legal_hold
        blob = (vault.folder / evidence.blob).read_bytes()
        assert KNOWN[0].read_bytes()[:64] not in blob and len(blob) > evidence.size  # encrypted at rest
        admin = _person(store, "root", "admin")
        assert vault.read(session, evidence.id, admin) == KNOWN[0].read_bytes()
        session.commit()
        assert vault.verify_custody(session, evidence.id)
    assert (tmp_path / "keys" / "evidence.key").stat().st_mode & 0o777 == 0o600


def test_disagreement_escalates_to_a_senior_reviewer(queued) -> None:
    store, ids = queued
    alice, bob = _person(store, "alice", "reviewer"), _person(store, "bob", "reviewer")
    carol, senior = _person(store, "carol", "reviewer"), _person(store, "sam", "senior_reviewer")
    review.vote(store, alice, ids[1], "confirm", "caid", "B")
    assert review.vote(store, bob, ids[1], "confirm", "caid", "C").status == "escalated"  # category differs
    assert ids[1] not in [i.id for i in review.queue(store, carol)]
    assert ids[1] in [i.id for i in review.queue(store, senior)]
    with pytest.raises(Forbidden, match="senior"):
        review.vote(store, carol, ids[1], "reject")
    assert review.vote(store, senior, ids[1], "confirm", "caid", "B").status == "confirmed"
    review.vote(store, alice, ids[2], "reject")
    assert review.vote(store, bob, ids[2], "confirm", "ncmec", "A2").status == "escalated"
    actions = audit.action_counts(store)
    assert actions["review.escalate"] == 2 and actions["review.confirmed"] == 1


def test_three_of_three_and_roles(store: Store, queued) -> None:
    store, ids = queued
    with store.session() as session:
        item = session.get(ReviewItem, ids[2])
        item.required_votes = 3
        session.commit()
    people = [_person(store, f"r{i}", "reviewer") for i in range(3)]
    assert review.vote(store, people[0], ids[2], "reject").status == "pending"
    assert review.vote(store, people[1], ids[2], "reject").status == "pending"
    assert review.vote(store, people[2], ids[2], "reject").status == "rejected"
    with pytest.raises(review.ReviewError, match="already rejected"):
        review.vote(store, _person(store, "late", "senior_reviewer"), ids[2], "reject")
    for role in ("submitter", "auditor"):
        with pytest.raises(Forbidden, match="cannot review"):
            review.vote(store, _person(store, role, role), ids[0], "reject")
    with pytest.raises(InvalidInput, match="category"):
        review.vote(store, people[0], ids[0], "confirm")
    with pytest.raises(InvalidInput, match="not a caid"):
        review.vote(store, people[0], ids[0], "confirm", "caid", "1")


def test_held_evidence_cannot_be_deleted(queued, tmp_path: Path) -> None:
    store, ids = queued
    vault = Vault.open(tmp_path / "vault", tmp_path / "keys" / "evidence.key", retention=timedelta(days=365))
    alice, bob = _person(store, "alice", "reviewer"), _person(store, "bob", "reviewer")
    admin = _person(store, "root", "admin")
    review.vote(store, alice, ids[0], "confirm", "projectvic", "1")
    review.vote(
        store, bob, ids[0], "confirm", "projectvic", "1", on_confirmed=lambda s, i, w: vault.preserve(s, i, w)
    )
    with store.session() as session:
        evidence_id = session.scalars(select(Evidence.id)).one()
        with pytest.raises(EvidenceError, match="legal hold"):
            vault.delete(session, evidence_id, admin)
    with store.session() as session:
        with pytest.raises(Forbidden, match="only an admin"):
            vault.release_hold(session, evidence_id, alice, "case closed")
        vault.release_hold(session, evidence_id, admin, "case closed")
        session.commit()
        with pytest.raises(EvidenceError, match="retention"):
            vault.delete(session, evidence_id, admin)
    vault.retention = timedelta(0)
    with store.session() as session:
        evidence = session.get(Evidence, evidence_id)
        evidence.retain_until = evidence.created_at - timedelta(seconds=1)
        session.commit()
        vault.delete(session, evidence_id, admin)
        session.commit()
        assert vault.verify_custody(session, evidence_id)
    actions = audit.action_counts(store)
    assert actions["evidence.delete_refused"] == 2 and actions["evidence.delete"] == 1
    assert audit.verify(store).ok
