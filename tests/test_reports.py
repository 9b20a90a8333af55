"""Clearinghouse reports: element order, actionability, and the submission flow against a fake API."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from tests.conftest import ServerThread

from vigil.actions.reports import cybertip
from vigil.actions.reports.client import ClearinghouseClient, SubmissionError
from vigil.testing.fake_clearinghouse import create_fake

FULL = cybertip.ReportInput(
    incident_time="2026-11-02T09:00:00+00:00",
    reporter_email="tns@example.org",
    reporter_name=("Trust", "Safety"),
    url="https://files.example.org/a/1",
    user={"espIdentifier": "u-17", "screenName": "sample_user", "country": "NO"},
    ip_events=[{"ipAddress": "192.0.2.7", "dateTime": "2026-11-01T10:00:00Z", "port": 443}],
    file_name="upload.jpg",
    file_hashes={"MD5": "9e107d9d372bb6826bd81d3542a419d6"},
    file_preserved=True,
    category="projectvic 1",
)


def test_report_xml_is_in_schema_order_and_complete() -> None:
    xml = cybertip.report_xml(FULL)
    assert cybertip.structure_problems(xml, "report") == []
    root = ET.fromstring(xml)
    assert [c.tag for c in root] == ["incidentSummary", "internetDetails", "reporter", "personOrUserReported"]
    event = root.find("personOrUserReported/ipCaptureEvent")
    assert event is not None and [c.tag for c in event] == ["ipAddress", "eventName", "dateTime", "port"]
    details = cybertip.file_details_xml("1000", "f1", FULL)
    assert cybertip.structure_problems(details, "fileDetails") == []
    assert ET.fromstring(details).find("originalFileHash").get("hashType") == "MD5"
    assert cybertip.actionability(FULL) == {"score": 100, "missing": [], "complete": True}


def test_actionability_names_what_is_missing() -> None:
    bare = cybertip.ReportInput(incident_time="2026-11-02T09:00:00Z", reporter_email="tns@example.org")
    score = cybertip.actionability(bare)
    assert score["score"] == 10 and not score["complete"]
    assert [m["item"] for m in score["missing"]] == ["ip_with_time", "file", "user_identifiers", "location"]
    no_time = cybertip.ReportInput(**{**FULL.__dict__, "ip_events": [{"ipAddress": "192.0.2.7"}]})
    assert [m["item"] for m in cybertip.actionability(no_time)["missing"]] == ["ip_with_time"]


def test_structure_problems_catch_order_and_missing_fields() -> None:
    swapped = (
        "<report><reporter><reportingPerson><email>a@b</email></reportingPerson></reporter>"
        "<incidentSummary/></report>"
    )
    problems = cybertip.structure_problems(swapped, "report")
    assert (
        "elements are not in schema order" in problems and "missing incidentSummary/incidentType" in problems
    )
    assert cybertip.structure_problems("<report", "report")[0].startswith("not well-formed")


@pytest.fixture
def fake():
    app, state = create_fake("esp", "pw")
    with ServerThread(app) as server:
        yield server.url, state


def _client(url: str, **kwargs) -> ClearinghouseClient:
    return ClearinghouseClient(url, "esp", "pw", sleep=lambda _s: None, **kwargs)


def test_submission_flow_in_order(fake) -> None:
    url, state = fake
    report_id = _client(url).submit(cybertip.report_xml(FULL), FULL, b"benign bytes", "key-1")
    assert state.calls == ["submit", "upload", "fileinfo", "finish"]
    stored = state.reports[report_id]
    assert stored.status == "finished" and list(stored.files.values()) == [b"benign bytes"]


def test_transient_failures_are_retried_without_duplicates(fake) -> None:
    url, state = fake
    state.fail_next = 2
    report_id = _client(url).submit(cybertip.report_xml(FULL), FULL, b"x", "key-2")
    assert state.calls[:3] == ["submit:503", "submit:503", "submit"]
    assert len(state.reports) == 1 and state.reports[report_id].status == "finished"
    again = _client(url).submit(cybertip.report_xml(FULL), FULL, b"x", "key-2")
    assert again == report_id and len(state.reports) == 1  # idempotency key replays, no second report


def test_rejected_report_and_retract_on_later_failure(fake) -> None:
    url, state = fake
    with pytest.raises(SubmissionError, match="missing"):
        _client(url).submit("<report><incidentSummary/></report>", FULL, None, "key-3")
    assert state.reports == {}
    client = _client(url, retries=1)
    original = client._post

    def failing_finish(http, path, key, **kwargs):
        if path == "/finish":
            raise SubmissionError("/finish: refused")
        return original(http, path, key, **kwargs)

    client._post = failing_finish  # type: ignore[method-assign]
    with pytest.raises(SubmissionError, match="finish"):
        client.submit(cybertip.report_xml(FULL), FULL, b"x", "key-4")
    assert state.calls[-1] == "retract" and next(iter(state.reports.values())).status == "retracted"


def test_wrong_credentials_are_not_retried(fake) -> None:
    url, state = fake
    with pytest.raises(SubmissionError, match="Unauthorized"):
        ClearinghouseClient(url, "esp", "wrong", sleep=lambda _s: None).submit(
            cybertip.report_xml(FULL), FULL, None, "key-5"
        )
    assert state.calls == []
