"""Classifier stage: plug-ins order the review queue, never decide; models are watched and demoted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from tests.conftest import OPERATOR, bsds_images
from tests.test_scan import designate_known

from vigil.intel.classify import monitor
from vigil.intel.classify.base import load
from vigil.intel.classify.priority import PriorityWeights, priority
from vigil.review import domain as review
from vigil.review.keys import authenticate, create_key
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ClassifierScore, ReviewItem

BRIGHTNESS = "tests.plugins:BrightnessClassifier"


def _brightness(path: Path) -> float:
    return float(np.asarray(Image.open(path).convert("L")).mean())


BRIGHT = [p for p in bsds_images()[:80] if _brightness(p) > 140][:4]
DARK = [p for p in bsds_images()[:80] if _brightness(p) < 90][:4]


def test_priority_orders_known_matches_then_scores_then_nothing() -> None:
    assert priority({"exact"}, {}, set()) > priority({"strong"}, {"m": {"s": 1.0}}, set())
    assert priority({"strong"}, {}, set()) > priority(set(), {"m": {"s": 0.99}}, set())
    assert priority(set(), {"m": {"s": 0.9}}, set()) > priority(set(), {"m": {"s": 0.6}}, set())
    assert priority(set(), {"m": {"s": 0.9}}, {"m"}) == PriorityWeights().other
    heavier = PriorityWeights(model_weights={"m": 0.5})
    assert priority(set(), {"m": {"s": 0.8}}, set(), heavier) == pytest.approx(20.0)


@pytest.fixture
def scanned(store: Store, tmp_path: Path) -> tuple[Store, int]:
    folder = tmp_path / "share"
    folder.mkdir()
    for path in [*BRIGHT, *DARK, bsds_images()[90]]:
        (folder / path.name).write_bytes(path.read_bytes())
    designate_known(store, [bsds_images()[90]])
    scan_id = run_scan(store, OPERATOR, folder, ScanOptions(workers=1, classifiers=(BRIGHTNESS,)))
    return store, scan_id


def test_scores_are_stored_with_model_identity_and_raise_items(scanned) -> None:
    store, scan_id = scanned
    with store.session() as session:
        scores = list(session.scalars(select(ClassifierScore)))
    assert len(scores) == 9 and {(s.model_id, s.model_version, s.name) for s in scores} == {
        ("fake-brightness", "1.0", "bright")
    }
    added = review.enqueue_scan(store, OPERATOR, scan_id, classifier_threshold=0.55)
    with store.session() as session:
        items = list(session.scalars(select(ReviewItem).order_by(ReviewItem.priority.desc())))
    known_item = items[0].scan_item_id
    bright_others = {s.scan_item_id for s in scores if s.score >= 0.55 and s.scan_item_id != known_item}
    assert len(bright_others) >= 2
    assert added == len(items) == 1 + len(bright_others)
    assert items[0].reason["matches"] and items[0].priority == 100.0  # the known image first
    for item in items[1:]:
        assert not item.reason["matches"]
        assert item.reason["scores"][0][:3] == ["fake-brightness", "1.0", "bright"]
        assert 0 < item.priority < 90
    priorities = [i.priority for i in items[1:]]
    assert priorities == sorted(priorities, reverse=True)


def test_model_below_precision_floor_is_demoted_and_stops_counting(scanned) -> None:
    store, scan_id = scanned
    review.enqueue_scan(store, OPERATOR, scan_id, classifier_threshold=0.0)
    people = [authenticate(store, create_key(store, OPERATOR, f"r{i}", "reviewer")) for i in range(2)]
    with store.session() as session:
        flagged = [i.id for i in session.scalars(select(ReviewItem)) if not i.reason["matches"]]
    for item_id in flagged:  # reviewers find none of the classifier's picks pertinent
        for person in people:
            review.vote(store, person, item_id, "reject")
    policy = monitor.MonitorPolicy(threshold=0.0, precision_floor=0.5, min_decisions=5)
    stats = monitor.report(store, policy)["fake-brightness"]
    assert stats["decided"] == len(flagged) and stats["precision_at_threshold"] == 0.0
    assert stats["false_positive_rate"] == 1.0 and sum(b["decided"] for b in stats["bands"]) == len(flagged)
    assert monitor.enforce(store, OPERATOR, policy) == ["fake-brightness"]
    assert monitor.enforce(store, OPERATOR, policy) == []  # once
    assert monitor.demoted_models(store) == {"fake-brightness"}
    assert audit.action_counts(store)["model.demote"] == 1
    # A new scan: the demoted model's scores no longer bring items into the queue.
    options = ScanOptions(workers=1, classifiers=(BRIGHTNESS,))
    rescan = run_scan(store, OPERATOR, _scan_root(store, scan_id), options)
    before = _count(store)
    review.enqueue_scan(store, OPERATOR, rescan, classifier_threshold=0.0)
    assert _count(store) - before == 1  # only the known-hash match


def _scan_root(store: Store, scan_id: int) -> Path:
    from vigil.store.models import Scan

    with store.session() as session:
        return Path(session.get(Scan, scan_id).root)


def _count(store: Store) -> int:
    with store.session() as session:
        return len(list(session.scalars(select(ReviewItem.id))))


nudenet = pytest.importorskip("nudenet")


def test_nudenet_plugin_loads_offline_and_scores_benign_photos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = load("nudenet")
    assert model.identity.model_id == "nudenet-320n" and model.identity.version
    images = [np.asarray(Image.open(p).convert("RGB")) for p in bsds_images()[:12]]
    scores = model.classify(images)
    assert len(scores) == 12 and all(0.0 <= s["nudity"] <= 1.0 for s in scores)
    assert sum(s["nudity"] >= model.identity.default_threshold for s in scores) <= 1
