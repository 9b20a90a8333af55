"""End to end in a real headless Chromium: scan -> match -> two reviewers confirm in the browser ->
evidence held -> complete report XML -> fake clearinghouse receives it in order -> audit verifies,
and a tampered audit row is detected."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from sqlalchemy import select, text
from tests.conftest import OPERATOR, ServerThread, bsds_images
from tests.test_scan import designate_known

from vigil.actions.reports.domain import ReportSettings
from vigil.core import cybertipline
from vigil.interfaces.api.app import ServiceConfig, create_app
from vigil.review import domain as review
from vigil.review.evidence import Vault
from vigil.review.keys import create_key
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import Evidence, ReviewItem
from vigil.testing.fake_clearinghouse import create_fake

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium not installed (.ci/run installs it)"
)
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KNOWN = bsds_images()[200:202]


def until_previewed(store: Store, who: str, item_id: int, seconds: float = 10.0) -> None:
    """Wait until the browser has fetched this item's preview, as the audit log records it (the
    preview is an <input type=image>, which has no load state a page script could read)."""
    deadline = time.monotonic() + seconds
    while not [
        e
        for e in audit.events(store, action="review.preview", target=f"review:{item_id}")
        if e.actor == f"reviewer:{who}"
    ]:
        assert time.monotonic() < deadline, "the preview was not fetched"
        time.sleep(0.05)


def _sharpness(jpeg: bytes) -> float:
    pixels = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=np.float64)
    return float(np.abs(np.diff(pixels, axis=0)).mean() + np.abs(np.diff(pixels, axis=1)).mean())


@pytest.fixture
def case(store: Store, tmp_path: Path) -> tuple[Store, Path]:
    designate_known(store, KNOWN)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    ImageOps.mirror(Image.open(KNOWN[0])).save(uploads / "flipped.jpg", quality=92)
    (uploads / "copy.jpg").write_bytes(KNOWN[1].read_bytes())
    (uploads / "unrelated.jpg").write_bytes(bsds_images()[450].read_bytes())
    context = {
        "uploader": "user-4711",
        "account": {"screen_name": "sample_account", "email": "sample@example.org"},
        "country": "NO",
        "ip_events": [{"ipAddress": "192.0.2.44", "dateTime": "2026-11-20T08:15:00Z", "port": 51234}],
    }
    scan_id = run_scan(store, OPERATOR, uploads, ScanOptions(workers=1))
    assert review.enqueue_scan(store, OPERATOR, scan_id, contexts={"flipped.jpg": context}) == 2
    return store, tmp_path


def _login(browser, base: str, key: str):
    page = browser.new_context().new_page()
    page.goto(f"{base}/ui/login")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/queue**")
    return page


def test_scan_review_evidence_report_audit(case) -> None:
    store, tmp_path = case
    keys = {
        "alice": create_key(store, OPERATOR, "alice", "reviewer"),
        "bob": create_key(store, OPERATOR, "bob", "reviewer"),
        "sam": create_key(store, OPERATOR, "sam", "senior_reviewer"),
        "audrey": create_key(store, OPERATOR, "audrey", "auditor"),
    }
    fake_app, fake_state = create_fake("esp", "pw")
    with store.session() as session:
        item_id = session.scalars(select(ReviewItem.id).where(ReviewItem.path.like("%flipped.jpg"))).one()
    with ServerThread(fake_app) as clearinghouse:
        config = ServiceConfig(
            reports=ReportSettings(
                reporter_email="tns@example.org",
                clearinghouse_url=clearinghouse.url,
                clearinghouse_user="esp",
                clearinghouse_password="pw",
            )
        )
        app = create_app(store, Vault.open(tmp_path / "vault", tmp_path / "keys" / "evidence.key"), config)
        with ServerThread(app) as vigil, playwright_api.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            base = vigil.url
            alice = _login(browser, base, keys["alice"])
            assert alice.locator("#queue").count() == 0  # nothing is assigned before she asks
            alice.goto(f"{base}/ui/items/{item_id}")  # a free place: the item is leased to her
            preview = alice.locator("input.preview")
            assert "blurred" in preview.get_attribute("alt")
            until_previewed(store, "alice", item_id)
            blurred = alice.request.get(f"{base}/ui/items/{item_id}/preview").body()
            alice.click("#unblur")
            assert "unblurred" in alice.locator("input.preview").get_attribute("alt")
            clear = alice.request.get(f"{base}/ui/items/{item_id}/preview?clear=1").body()
            assert _sharpness(clear) > 2 * _sharpness(blurred)
            alice.check("input[value='confirm:projectvic:1']")
            alice.click("#submit-vote")
            assert "pending" in alice.locator(".flash").inner_text()
            bob = _login(browser, base, keys["bob"])
            bob.goto(f"{base}/ui/items/{item_id}")
            assert (
                bob.locator("input.preview").get_attribute("alt") == "preview (blurred)"
            )  # unblur is per reviewer
            bob.check("input[value='confirm:projectvic:1']")
            bob.click("#submit-vote")
            assert "confirmed" in bob.locator(".flash").inner_text()
            browser.close()
            _report_and_audit(store, vigil.url, keys, item_id, fake_state, tmp_path)


def _report_and_audit(
    store: Store, base: str, keys: dict[str, str], item_id: int, fake_state, tmp_path: Path
) -> None:
    import httpx

    with httpx.Client(base_url=base) as api:
        senior = {"X-API-Key": keys["sam"]}
        body = {"item_id": item_id}
        assert api.post("/v1/reports", json=body, headers={"X-API-Key": keys["alice"]}).status_code == 403
        draft = api.post("/v1/reports", json=body, headers=senior).json()
        assert cybertipline.problems(draft["xml"], "report") == []
        assert draft["status"] == "validated"
        assert draft["actionability"] == {"score": 100, "missing": [], "complete": True, "actionable": True}
        viewed = draft["files"][0]["fileViewedByEsp"]
        assert (
            viewed["value"] is True and "reviewer:alice (unblurred)" in viewed["why"]
        )  # bob never unblurred
        assert draft["files"][0]["industryClassification"]["value"] is None  # projectvic 1 is ambiguous
        again = api.post("/v1/reports", json=body, headers=senior).json()
        assert again["report_id"] == draft["report_id"]  # one report per item
        sent = api.post(f"/v1/reports/{draft['report_id']}/submit", headers=senior).json()
        assert sent["status"] == "finished"
        assert fake_state.calls == ["submit", "upload", "fileinfo", "finish"]
        delivered = fake_state.reports[sent["remote_id"]]
        assert next(iter(delivered.files.values())) == (tmp_path / "uploads" / "flipped.jpg").read_bytes()
        assert "192.0.2.44" in delivered.report_xml and "user-4711" in delivered.report_xml
        details = next(iter(delivered.file_details.values()))
        assert "<fileViewedByEsp>true</fileViewedByEsp>" in details
        shown = api.get(f"/v1/reports/{draft['report_id']}", headers=senior).json()
        assert shown["status"] == "finished" and shown["remote_id"] == sent["remote_id"]
        auditor = {"X-API-Key": keys["audrey"]}
        assert api.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
        transparency = api.get("/v1/transparency", headers=auditor).json()
        assert transparency["outcome"] == {"confirmed": 1, "pending": 1}
        assert transparency["confirmed_by_category"] == {"projectvic:1": 1}

        with store.session() as session:
            evidence = session.scalars(select(Evidence)).one()
            assert evidence.review_item_id == item_id and evidence.legal_hold
            actions = [
                row[0] for row in session.execute(text("SELECT action FROM audit_log ORDER BY seq")).all()
            ]
        for action in (
            "review.view",
            "review.preview",
            "review.unblur",
            "review.vote",
            "review.confirmed",
            "evidence.preserve",
            "report.draft",
            "report.sending",
            "report.opened",
            "report.submit",
            "evidence.read",
        ):
            assert action in actions, action
        with store.engine.begin() as conn:
            if store.dialect == "sqlite":
                conn.execute(text("DROP TRIGGER audit_log_no_update"))
            else:
                conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
            seq = actions.index("review.unblur") + 1
            conn.execute(text("UPDATE audit_log SET actor = 'reviewer:nobody' WHERE seq = :s"), {"s": seq})
        verdict = api.get("/v1/audit/verify", headers=auditor).json()
        assert verdict["ok"] is False and verdict["first_bad_seq"] == seq
