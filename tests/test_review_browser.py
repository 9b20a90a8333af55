"""The reviewer workstation in a real headless Chromium: keyboard-only review (keystrokes counted),
grid triage, escalation with visible votes, no re-exposure, leases, wellness, and the evidence,
report and audit pages per role. Screenshots of each page go to $VIGIL_SCREENSHOTS when set
(`scripts/screenshots` refreshes docs/review/), else to the test's temporary folder.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, update
from tests.conftest import OPERATOR, ServerThread, bsds_images, key_holder
from tests.test_e2e_browser import CHROME_ARGS, CHROMIUM, until_previewed
from tests.test_scan import designate_known

from vigil.actions.reports.domain import ReportSettings
from vigil.core.clock import utcnow
from vigil.interfaces.api.app import ServiceConfig, create_app
from vigil.review import domain as review
from vigil.review.evidence import Vault
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ReviewItem, ReviewLease, ReviewVote
from vigil.testing.fake_clearinghouse import create_fake

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium not installed (.ci/run installs it)"
)
KNOWN = bsds_images()[120:126]
CONTEXT = {
    "uploader": "user-2231",
    "account": {"screen_name": "sample_account", "email": "sample@example.org"},
    "country": "DE",
    "ip_events": [{"ipAddress": "198.51.100.7", "dateTime": "2026-11-28T21:04:00Z", "port": 40211}],
}


@dataclass
class Desk:
    store: Store
    base: str
    keys: dict[str, str]
    browser: Any
    folder: Path
    shots: Path
    fake: Any

    def login(self, name: str) -> Any:
        page = self.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{self.base}/ui/login")
        page.fill("input[name=key]", self.keys[name])
        with page.expect_navigation():
            page.keyboard.press("Enter")
        return page

    def shot(self, page: Any, name: str, *, whole: bool = False) -> None:
        """A small PNG of the page (64 colours: the previews are blurred greyscale anyway); the
        1280x800 window, or the whole page with `whole`."""
        page.wait_for_load_state("load")  # a form post may still be navigating
        try:
            raw = page.screenshot(full_page=whole)
        except playwright_api.Error:  # Chromium refuses a capture while a frame is being swapped
            time.sleep(0.5)
            raw = page.screenshot(full_page=whole)
        small = Image.open(io.BytesIO(raw)).convert("RGB").quantize(64)
        small.save(self.shots / f"{name}.png", optimize=True)

    def scan(self, votes: int = 2) -> list[int]:
        scan_id = run_scan(self.store, OPERATOR, self.folder, ScanOptions(workers=1))
        contexts = {path.name: CONTEXT for path in KNOWN}
        review.enqueue_scan(self.store, OPERATOR, scan_id, votes, contexts)
        with self.store.session() as tx:
            return list(tx.scalars(select(ReviewItem.id).order_by(ReviewItem.id)))


@pytest.fixture
def desk(store: Store, tmp_path: Path) -> Iterator[Desk]:
    designate_known(store, KNOWN)
    folder = tmp_path / "uploads"
    folder.mkdir()
    for path in KNOWN:
        (folder / path.name).write_bytes(path.read_bytes())
    keys = {
        name: key_holder(store, name, role)[0]
        for name, role in (
            ("ann", "reviewer"),
            ("ben", "reviewer"),
            ("sam", "senior_reviewer"),
            ("ada", "admin"),
            ("aud", "auditor"),
            ("sub", "submitter"),
        )
    }
    shots = Path(os.environ.get("VIGIL_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    fake_app, fake_state = create_fake("esp", "pw")
    with ServerThread(fake_app) as clearinghouse:
        settings = ReportSettings(
            reporter_email="tns@example.org",
            clearinghouse_url=clearinghouse.url,
            clearinghouse_user="esp",
            clearinghouse_password="pw",
        )
        vault = Vault.open(tmp_path / "vault", tmp_path / "keys" / "evidence.key")
        app = create_app(store, vault, ServiceConfig(reports=settings, media_workers=1, rate_per_second=0))
        with ServerThread(app) as vigil, playwright_api.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            yield Desk(store, vigil.url, keys, browser, folder, shots, fake_state)
            browser.close()


def _votes(store: Store, name: str) -> list[tuple[int, str, str | None]]:
    with store.session() as tx:
        from vigil.store.models import ApiKey

        query = (
            select(ReviewVote.item_id, ReviewVote.decision, ReviewVote.category)
            .join(ApiKey, ApiKey.id == ReviewVote.reviewer_id)
            .where(ApiKey.name == name)
            .order_by(ReviewVote.item_id)
        )
        return [(i, d.value, c) for i, d, c in tx.execute(query)]


def _submit(page: Any, selector: str) -> None:
    """Click a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def _focused(page: Any, selector: str) -> bool:
    return bool(page.locator(selector).first.evaluate("e => e === document.activeElement"))


def test_a_full_review_by_keyboard_takes_at_most_three_keys_per_decision(desk: Desk) -> None:
    items = desk.scan()
    page = desk.login("ann")
    assert page.url.endswith("/ui/queue")
    desk.shot(page, "queue")
    pressed = 0

    def press(key: str) -> None:
        nonlocal pressed
        page.keyboard.press(key)
        pressed += 1

    with page.expect_navigation():
        press("n")
    plan = ["1", "r", "2", "r", "1", "r"]  # 1: caid A, 2: caid B, r: not pertinent
    per_decision, seconds = [], []
    for number, key in enumerate(plan):
        assert "/ui/items/" in page.url
        assert _focused(page, "input[name=choice]"), "the decision form has the focus"
        if number == 0:
            until_previewed(desk.store, "ann", int(page.url.rsplit("/", 1)[1]))
            desk.shot(page, "item", whole=True)
            context = page.locator("#context").inner_text()
            assert "user-2231" in context and "198.51.100.7:40211" in context and "DE" in context
            assert "481x321" in context or "321x481" in context
            matches = page.locator("#matches").inner_text()
            assert "known" in matches and "sha256" in matches and "pdq" in matches
        before, started = pressed, time.monotonic()
        press(key)
        with page.expect_navigation():
            press("Enter")
        page.wait_for_load_state()
        per_decision.append(pressed - before)
        seconds.append(time.monotonic() - started)
    assert page.url.endswith("/ui/queue") and "Nothing is waiting" in page.locator(".flash").inner_text()
    assert max(per_decision) <= 3 and per_decision == [2] * len(plan)
    votes = _votes(desk.store, "ann")
    assert [v[0] for v in votes] == items  # every item, each once, in priority order
    assert sorted(c or "-" for _, _, c in votes) == ["-", "-", "-", "A", "A", "B"]
    measured = {"keys_per_decision": per_decision, "median_seconds": round(statistics.median(seconds), 3)}
    (desk.shots / "keyboard.json").write_text(json.dumps(measured))


def test_undo_brings_the_item_back_and_grid_triage_votes_on_the_ticked_items_only(desk: Desk) -> None:
    items = desk.scan()
    page = desk.login("ben")
    with page.expect_navigation():
        page.keyboard.press("n")
    first = int(page.url.rsplit("/", 1)[1])
    page.keyboard.press("r")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#undo-bar").is_visible()
    with page.expect_navigation():
        page.keyboard.press("u")
    assert page.url.endswith(f"/ui/items/{first}") and "undone" in page.locator(".flash").inner_text()
    assert _votes(desk.store, "ben") == []
    page.goto(f"{desk.base}/ui/grid")
    tiles = page.locator("input.pick")
    assert tiles.count() == len(items)  # the held item plus a fresh batch, all blurred
    desk.shot(page, "grid")
    keys = ["ArrowRight", "x", "ArrowRight", "ArrowRight", "x", "r"]
    for key in keys:
        page.keyboard.press(key)
    ticked = [int(v) for v in page.locator("input.pick:checked").evaluate_all("els => els.map(e => e.value)")]
    assert len(ticked) == 2
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Recorded" in page.locator(".flash").inner_text()
    assert _votes(desk.store, "ben") == [(i, "reject", None) for i in sorted(ticked)]
    assert page.locator("input.pick").count() == len(items) - 2  # the rest stay assigned to him


def test_an_escalation_shows_each_vote_to_the_senior_and_hides_them_before_ones_own(desk: Desk) -> None:
    items = desk.scan()
    item = items[0]
    ann = desk.login("ann")
    ann.goto(f"{desk.base}/ui/items/{item}")
    box = ann.locator("input.preview").bounding_box()
    with ann.expect_navigation():  # click-to-peek: one spot of the blurred preview shown clear
        ann.click("input.preview", position={"x": box["width"] * 0.25, "y": box["height"] * 0.75})
    peeked = audit.detail_of(audit.events(desk.store, action="review.peek")[-1])
    assert abs(peeked["x"] - 0.25) < 0.03 and abs(peeked["y"] - 0.75) < 0.03
    assert "a region is shown" in ann.content()
    ann.check("input[value='confirm:caid:B']")
    ann.fill("input[name=note]", "clear match, same scene")
    _submit(ann, "#submit-vote")
    ben = desk.login("ben")
    ben.goto(f"{desk.base}/ui/items/{item}")
    assert ben.locator("#votes").count() == 0 and "hidden until you vote" in ben.content()
    ben.check("input[value=reject]")
    ben.fill("input[name=note]", "different picture")
    _submit(ben, "#submit-vote")
    sam = desk.login("sam")
    with sam.expect_navigation():
        sam.keyboard.press("n")
    assert sam.url.endswith(f"/ui/items/{item}")  # escalations come first to a senior reviewer
    rows = sam.locator("#votes tr").all_inner_texts()
    assert any("ann" in r and "caid:B" in r and "same scene" in r for r in rows)
    assert any("ben" in r and "reject" in r and "different picture" in r for r in rows)
    desk.shot(sam, "escalation", whole=True)


def test_a_rescan_and_an_identical_upload_are_not_shown_again(desk: Desk) -> None:
    desk.scan(votes=1)
    ann = desk.login("ann")
    with ann.expect_navigation():
        ann.keyboard.press("n")
    for _ in KNOWN:  # each decision moves on to the next item
        ann.keyboard.press("r")
        with ann.expect_navigation():
            ann.keyboard.press("Enter")
    items = desk.scan(votes=1)  # the same folder again
    ann.goto(f"{desk.base}/ui/next")
    assert ann.url.endswith("/ui/queue") and "Nothing is waiting" in ann.locator(".flash").inner_text()
    copy = items[-1]
    ann.goto(f"{desk.base}/ui/items/{copy}")
    assert "repeats item" in ann.locator("#linked").inner_text()
    assert ann.locator("#status").inner_text() == "rejected (linked)"
    desk.shot(ann, "linked")
    upload = bsds_images()[400]
    designate_known(desk.store, [upload], "second")
    sent = []
    with httpx.Client(base_url=desk.base, headers={"X-API-Key": desk.keys["sub"]}) as api:
        for name in ("photo.jpg", "photo (1).jpg"):
            files = {"file": (name, upload.read_bytes(), "image/jpeg")}
            sent.append(api.post("/v1/match/media", files=files).json()["review_item"])
    assert sent[0] != sent[1]
    with desk.store.session() as tx:
        second = tx.get(ReviewItem, sent[1])
        assert second is not None and second.linked_to == sent[0]
    ann.goto(f"{desk.base}/ui/queue")
    with ann.expect_navigation():
        ann.keyboard.press("n")
    assert ann.url.endswith(f"/ui/items/{sent[0]}")
    ann.keyboard.press("r")
    with ann.expect_navigation():
        ann.keyboard.press("Enter")
    assert "Nothing is waiting" in ann.locator(".flash").inner_text()  # the copy was never queued
    ben = desk.login("ben")  # uploads need the service's two votes
    with ben.expect_navigation():
        ben.keyboard.press("n")
    assert ben.url.endswith(f"/ui/items/{sent[0]}")
    ben.keyboard.press("r")
    with ben.expect_navigation():
        ben.keyboard.press("Enter")
    with desk.store.session() as tx:
        second = tx.get(ReviewItem, sent[1])
        assert second is not None and second.status.value == "rejected"


def test_a_lease_keeps_others_out_until_it_expires(desk: Desk) -> None:
    items = desk.scan(votes=1)
    ann = desk.login("ann")
    ann.goto(f"{desk.base}/ui/items/{items[0]}")
    assert "Assigned to you until" in ann.locator("#lease").inner_text()
    ben = desk.login("ben")
    reply = ben.goto(f"{desk.base}/ui/items/{items[0]}")
    assert reply.status == 409 and "text/html" in reply.headers["content-type"]
    assert "assigned to other reviewers" in ben.locator("#error").inner_text()
    with desk.store.transaction() as tx:
        tx.execute(update(ReviewLease).values(expires_at=utcnow() - timedelta(seconds=1)))
    ben.reload()
    assert ben.locator("#vote").is_visible()
    ann.check("input[value=reject]")
    _submit(ann, "#submit-vote")
    assert "your lease expired" in ann.locator(".flash").inner_text()
    assert _votes(desk.store, "ann") == []


def test_wellness_settings_break_prompt_and_daily_cap(desk: Desk) -> None:
    items = desk.scan(votes=1)
    ada = desk.login("ada")
    ada.goto(f"{desk.base}/ui/settings")
    ada.fill("#limits input[name=break_after]", "2")
    ada.fill("#limits input[name=daily_cap]", "4")
    with ada.expect_navigation():
        ada.click("#save-limits")
    assert "Limits saved" in ada.locator(".flash").inner_text()
    ann = desk.login("ann")
    ann.goto(f"{desk.base}/ui/settings")
    ann.uncheck("input[name=greyscale]")
    ann.fill("input[name=preview_size]", "240")
    with ann.expect_navigation():
        ann.click("#save-look")
    desk.shot(ann, "settings")
    preview = ann.request.get(f"{desk.base}/ui/items/{items[0]}/preview")
    shown = Image.open(io.BytesIO(preview.body()))
    assert max(shown.size) == 240 and shown.mode == "RGB"
    changed = audit.events(desk.store, action="wellness.settings")
    assert audit.detail_of(changed[-1])["after"] == {"blur": 14, "greyscale": False, "preview_size": 240}
    ann.goto(f"{desk.base}/ui/queue")
    with ann.expect_navigation():
        ann.keyboard.press("n")
    for _ in range(2):
        ann.keyboard.press("r")
        with ann.expect_navigation():
            ann.keyboard.press("Enter")
    assert "Time for a break" in ann.locator("h1").inner_text()
    assert "today 2/4" in ann.locator("#exposure").inner_text()
    desk.shot(ann, "break")
    _submit(ann, "#take-break")
    assert "On a break" in ann.locator("h1").inner_text()
    paused = audit.events(desk.store, action="wellness.break")
    assert [e.actor for e in paused] == ["reviewer:ann"]
    ben = desk.login("ben")
    for _ in range(4):
        ben.goto(f"{desk.base}/ui/next")
        if ben.locator("#skip-break").count():
            _submit(ben, "#skip-break")
        ben.check("input[value=reject]")
        _submit(ben, "#submit-vote")
    ben.goto(f"{desk.base}/ui/next")
    assert "enough for today" in ben.locator("h1").inner_text()
    assert [e.actor for e in audit.events(desk.store, action="wellness.break_skipped")] == ["reviewer:ben"]


def test_evidence_report_and_audit_pages_per_role(desk: Desk) -> None:
    items = desk.scan(votes=1)
    sam = desk.login("sam")
    sam.goto(f"{desk.base}/ui/items/{items[0]}")
    sam.check("input[value='confirm:ncmec:A2']")
    _submit(sam, "#submit-vote")
    sam.goto(f"{desk.base}/ui/reports")
    with sam.expect_navigation():
        sam.click("#waiting button.draft")
    assert "% complete" in sam.locator("#completeness").inner_text()
    assert (
        "<report" in sam.locator("#xml").inner_text() and "198.51.100.7" in sam.locator("#xml").inner_text()
    )
    assert "Viewed by us: no" in sam.locator("#statements").inner_text()
    desk.shot(sam, "report", whole=True)
    _submit(sam, "#submit-report")
    assert sam.locator("#status").inner_text() == "finished"
    assert desk.fake.calls == ["submit", "upload", "fileinfo", "finish"]
    refused = sam.goto(f"{desk.base}/ui/evidence")
    assert refused.status == 403 and "text/html" in refused.headers["content-type"]
    ada = desk.login("ada")
    ada.goto(f"{desk.base}/ui/evidence")
    assert "verifies" in ada.locator("#evidence").inner_text()
    with ada.expect_navigation():
        ada.click("#evidence a")
    ada.fill("#hold-form input[name=reason]", "case closed by the prosecutor, ref 2026/114")
    _submit(ada, "#hold-button")
    assert ada.locator("#hold").inner_text() == "released"
    custody = ada.locator("#custody").inner_text()
    assert "preserved" in custody and "accessed" in custody and "hold_released" in custody
    assert "verifies" in ada.locator("#verdict").inner_text()
    desk.shot(ada, "evidence", whole=True)
    aud = desk.login("aud")
    assert aud.url.endswith("/ui/audit")  # an auditor lands on what they may see
    assert aud.locator("header a").all_inner_texts() == ["Audit", "Evidence"]
    aud.goto(f"{desk.base}/ui/evidence/1")
    assert aud.locator("#hold-form").count() == 0  # auditors look, admins manage
    aud.goto(f"{desk.base}/ui/audit?action=evidence.release_hold&verify=1")
    assert "verifies" in aud.locator("#verdict").inner_text()
    assert "case closed" in aud.locator("#events").inner_text()
    desk.shot(aud, "audit")
    refused = aud.goto(f"{desk.base}/ui/reports")
    assert refused.status == 403 and "not for it" in aud.locator("#error").inner_text()
    ada.goto(f"{desk.base}/ui/lists")
    assert "known" in ada.locator("#lists").inner_text()
    desk.shot(ada, "lists")
    sub = desk.login("sub")
    assert sub.url.endswith("/ui/home") and "submitters send files" in sub.locator("#home").inner_text()
