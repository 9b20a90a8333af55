"""CyberTipline reports against NCMEC's own XSD: drafts, truthful flags, one report per item, the
submission flow, and a fake clearinghouse at least as strict as the schema."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.conftest import OPERATOR, ServerThread, key_holder

from vigil.actions.reports import cybertip
from vigil.actions.reports import domain as reports
from vigil.actions.reports.client import ClearinghouseClient, SubmissionError, Upload
from vigil.core import cybertipline
from vigil.core.actor import Actor, Role
from vigil.core.errors import Conflict, Forbidden, InvalidInput
from vigil.review import categories
from vigil.review import domain as review
from vigil.review.context import ContextError
from vigil.review.context import validate as validate_context
from vigil.review.evidence import Vault
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import AuditEvent, Submission
from vigil.testing.fake_clearinghouse import create_fake

SETTINGS = reports.ReportSettings(reporter_email="tns@example.org", reporter_name=("Trust", "Safety"))
CONTEXT = {
    "uploader": "u-17",
    "account": {
        "screen_name": "sample_user",
        "emails": ["Sample@Mail.Example"],
        "phones": ["+47 22 00 00 00"],
    },
    "country": "NO",
    "url": "https://files.example.org/a/1",
    "uploaded_at": "2026-11-01T10:00:00+09:00",
    "ip_events": [
        {
            "ipAddress": "192.0.2.7",
            "dateTime": "2026-11-01T10:00:00+09:00",
            "port": 443,
            "eventName": "Upload",
        },
        {
            "ipAddress": "2001:db8::1",
            "dateTime": "2026-10-30T08:00:00Z",
            "eventName": "Login",
            "possibleProxy": True,
        },
    ],
    "device_ids": [{"idType": "advertising id", "idValue": "ad-1", "eventName": "Login"}],
}
SENIOR = Actor("sam", Role.SENIOR_REVIEWER)  # drafting needs the report permission only
_names = itertools.count()


def _file(tmp_path: Path, text: str) -> Path:
    number = next(_names)
    path = tmp_path / f"upload-{number}.bin"
    path.write_bytes(f"benign stand-in bytes {text} #{number}".encode())  # distinct: copies would link
    return path


def _confirmed(
    store: Store,
    reviewer: Actor,
    path: Path,
    context: dict[str, object],
    *,
    vault: Vault | None = None,
    category: tuple[str, str] = ("ncmec", "B1"),
    flags: dict[str, bool | None] | None = None,
    unblur: bool = False,
) -> int:
    data = path.read_bytes()
    item_id = review.submit_item(
        store,
        OPERATOR,
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
        path=str(path),
        media_type="image",
        reason={"name": path.name},
        context=context,
        priority=1.0,
        required_votes=1,
    )
    if unblur:
        review.unblur(store, reviewer, item_id)
    keep = (lambda tx, item, who: vault.preserve(tx, item, who)) if vault else None
    result = review.vote(store, reviewer, item_id, "confirm", *category, None, keep, flags)
    assert result.status == "confirmed"
    return item_id


@pytest.fixture
def reviewer(store: Store) -> Actor:
    return key_holder(store, "alice", "reviewer")[1]


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault.open(tmp_path / "vault", tmp_path / "keys" / "vault.key")


def _xsd_ok(xml: str, element: str = "report") -> None:
    assert cybertipline.problems(xml, element) == []


# --- the schema layer --------------------------------------------------------------------------


def test_code_lists_kept_in_code_equal_the_xsd() -> None:
    assert cybertipline.enumeration("ipCaptureType") == cybertipline.EVENT_NAMES
    assert cybertipline.enumeration("fileClassification") == cybertipline.CLASSIFICATIONS
    assert set(categories.SCHEMES.get("ncmec").labels) == set(cybertipline.CLASSIFICATIONS)
    assert cybertipline.INCIDENT_CSAM in cybertipline.enumeration("incidentType")
    assert {"NO", "US", "DE"} <= cybertipline.countries() and "ZZ" not in cybertipline.countries()


def test_the_schema_refuses_what_the_old_writer_produced() -> None:
    """E-mails directly under personOrUserReported (the old layout) fail NCMEC's XSD."""
    old = (
        "<report><incidentSummary><incidentType>"
        + cybertipline.INCIDENT_CSAM
        + "</incidentType><incidentDateTime>2026-11-01T10:00:00Z</incidentDateTime></incidentSummary>"
        "<reporter><reportingPerson><email>a@b.example</email></reportingPerson></reporter>"
        "<personOrUserReported><email>x@y.example</email></personOrUserReported></report>"
    )
    problems = cybertipline.problems(old, "report")
    assert problems and "email" in problems[0]
    with pytest.raises(cybertipline.SchemaInvalid, match="CyberTipline XSD"):
        cybertipline.validate(old, "report")


def test_untrusted_xml_cannot_expand_entities() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><report>&a;</report>'
    assert "Entities are forbidden" in cybertipline.problems(bomb, "report")[0]


def test_without_a_configured_xsd_drafting_says_how_to_configure_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cybertipline.XSD_ENV)
    with pytest.raises(cybertipline.SchemaUnavailable, match=cybertipline.XSD_ENV):
        cybertipline.schema()


# --- intake validation -------------------------------------------------------------------------


def test_contexts_are_validated_field_by_field() -> None:
    bad = {
        "ip_events": [{"ipAddress": "<img src=x onerror=alert(1)>", "dateTime": "not-a-date", "port": 70000}],
        "uploaded_at": "2026-11-01T10:00:00",  # no offset
        "country": "ZZ",
        "account": {"emails": ["not an address"], "nickname": "x"},
        "url": "javascript:alert(1)",
    }
    with pytest.raises(ContextError) as caught:
        validate_context(bad)
    fields = dict(caught.value.errors)
    assert set(fields) == {
        "ip_events[0].ipAddress",
        "ip_events[0].dateTime",
        "ip_events[0].port",
        "uploaded_at",
        "country",
        "account.emails[0]",
        "account.nickname",
        "url[0]",
    }
    assert "no time zone" in fields["uploaded_at"] and "code list" in fields["country"]
    good = validate_context(CONTEXT)
    assert good["account"]["emails"] == ["Sample@mail.example"] and good["urls"] == [CONTEXT["url"]]
    assert good["ip_events"][1]["ipAddress"] == "2001:db8::1" and good["uploaded_at"].endswith("+09:00")


def test_an_invalid_context_is_refused_before_anything_is_stored(store: Store) -> None:
    with pytest.raises(ContextError, match="not an IP address"):
        review.submit_item(
            store,
            OPERATOR,
            sha256="0" * 64,
            md5=None,
            path=None,
            media_type=None,
            reason={},
            context={"ip_events": [{"ipAddress": "<img>"}]},
            priority=0,
        )
    assert audit.action_counts(store).get("review.enqueue") is None


# --- categories and legal flags ----------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "code"), [("projectvic", "0"), ("projectvic", "2"), ("projectvic", "3")])
def test_a_category_that_does_not_mean_illegal_cannot_confirm(
    store: Store, reviewer: Actor, scheme: str, code: str
) -> None:
    item = review.submit_item(
        store,
        OPERATOR,
        sha256="1" * 64,
        md5=None,
        path=None,
        media_type=None,
        reason={},
        context={},
        priority=0,
    )
    with pytest.raises(InvalidInput, match="does not mean illegal"):
        review.vote(store, reviewer, item, "confirm", scheme, code)
    assert review.vote(store, reviewer, item, "reject").status == "pending"  # rejecting stays open


def test_file_viewed_is_false_without_an_audited_unblur_and_true_with_one(
    store: Store, reviewer: Actor, tmp_path: Path
) -> None:
    blind = _confirmed(store, reviewer, _file(tmp_path, "a"), {"uploader": "a"})
    seen = _confirmed(store, reviewer, _file(tmp_path, "b"), {"uploader": "b"}, unblur=True)
    not_viewed = reports.draft(store, SENIOR, blind, SETTINGS)
    viewed = reports.draft(store, SENIOR, seen, SETTINGS)
    assert not_viewed["files"][0]["fileViewedByEsp"]["value"] is False
    assert "no reviewer saw this file unblurred" in not_viewed["files"][0]["fileViewedByEsp"]["why"]
    assert viewed["files"][0]["fileViewedByEsp"]["value"] is True
    assert "reviewer:alice (unblurred)" in viewed["files"][0]["fileViewedByEsp"]["why"]
    placeholder = cybertip.file_details_xml(
        "1", "f", cybertip.ReportedFile("x", {}, cybertip.Stated(False, ""))
    )
    assert ET.fromstring(placeholder).findtext("fileViewedByEsp") == "false"
    assert "exifViewedByEsp" not in placeholder  # Vigil never shows EXIF to reviewers, so never says so


def test_asking_for_a_clear_preview_without_an_unblur_is_not_a_view(
    store: Store, reviewer: Actor, tmp_path: Path, vault: Vault
) -> None:
    item = _confirmed(store, reviewer, _file(tmp_path, "c"), {"uploader": "c"})
    review.preview(store, reviewer, vault, item, clear=True)  # asked clear, but never unblurred: blurred
    assert reports.draft(store, SENIOR, item, SETTINGS)["files"][0]["fileViewedByEsp"]["value"] is False


def test_fields_come_from_reviewers_and_the_service(store: Store, reviewer: Actor, tmp_path: Path) -> None:
    flags = {"publicly_available": True, "potential_meme": False}
    item = _confirmed(store, reviewer, _file(tmp_path, "d"), CONTEXT, flags=flags)
    view = reports.draft(store, SENIOR, item, SETTINGS)
    _xsd_ok(view["xml"])
    root = ET.fromstring(view["xml"])
    person = root.find("personOrUserReported")
    assert person is not None
    assert person.findtext("personOrUserReportedPerson/email") == "Sample@mail.example"
    assert person.findtext("estimatedLocation/countryCode") == "NO"
    assert person.find("ipCaptureEvent[2]/possibleProxy").text == "true"  # type: ignore[union-attr]
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-11-01T10:00:00+09:00"
    assert "upload time" in root.findtext("incidentSummary/incidentDateTimeDescription", "")
    assert view["files"][0]["industryClassification"]["value"] == "B1"
    assert view["files"][0]["publiclyAvailable"] is True and view["files"][0]["potentialMeme"] is False
    details = ET.fromstring(
        cybertip.file_details_xml("7", "f1", reports.compose_for_item(store, item, SETTINGS).files[0])
    )
    assert details.findtext("industryClassification") == "B1"
    assert details.findtext("publiclyAvailable") == "true"
    assert details.findtext("potentialMeme") == "false"
    assert details.findtext("uploadedToEspTimestamp") == "2026-11-01T10:00:00+09:00"
    assert details.findtext("ipCaptureEvent/ipAddress") == "192.0.2.7"


def test_a_category_that_maps_ambiguously_is_left_out_with_the_reason(
    store: Store, reviewer: Actor, tmp_path: Path
) -> None:
    item = _confirmed(store, reviewer, _file(tmp_path, "e"), {"uploader": "e"}, category=("projectvic", "1"))
    view = reports.draft(store, SENIOR, item, SETTINGS)
    classification = view["files"][0]["industryClassification"]
    assert classification["value"] is None and "A1, A2, B1, B2" in classification["why"]
    assert "industryClassification" not in view["xml"]


def test_without_an_upload_time_the_observation_time_is_used_and_said(
    store: Store, reviewer: Actor, tmp_path: Path
) -> None:
    item = _confirmed(store, reviewer, _file(tmp_path, "f"), {"uploader": "f"})
    view = reports.draft(store, SENIOR, item, SETTINGS)
    when = datetime.fromisoformat(view["incident_time"]["value"])
    assert when.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - when) < timedelta(minutes=5)
    assert "service gave no upload time" in view["incident_time"]["why"]


def test_only_reporters_may_draft(store: Store, reviewer: Actor, tmp_path: Path) -> None:
    item = _confirmed(store, reviewer, _file(tmp_path, "g"), {})
    with pytest.raises(Forbidden):
        reports.draft(store, reviewer, item, SETTINGS)


def test_a_draft_the_xsd_refuses_is_not_stored(
    store: Store, reviewer: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = _confirmed(store, reviewer, _file(tmp_path, "h"), {"uploader": "h"})
    monkeypatch.setattr(cybertipline, "INCIDENT_CSAM", "Child Abuse Material")  # not in the code list
    with pytest.raises(cybertipline.SchemaInvalid, match="incidentType: value must be one of"):
        reports.draft(store, SENIOR, item, SETTINGS)
    with store.session() as tx:
        assert tx.scalar(select(func.count()).select_from(Submission)) == 0
        assert not tx.scalars(select(AuditEvent).where(AuditEvent.action == "report.draft")).all()


# --- property: every draft validates ----------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))])
TIMES = st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1), timezones=ZONES).map(datetime.isoformat)
IPS = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
EMAILS = st.builds(
    "{}@{}.example".format,
    st.from_regex(r"[a-z0-9._+-]{1,16}", fullmatch=True),
    st.from_regex(r"[a-z0-9-]{1,16}", fullmatch=True),
)
IP_EVENT = st.fixed_dictionaries(
    {"ipAddress": IPS},
    optional={
        "dateTime": TIMES,
        "port": st.integers(0, 65535),
        "eventName": st.sampled_from(cybertipline.EVENT_NAMES),
        "possibleProxy": st.booleans(),
    },
)
DEVICE = st.fixed_dictionaries({"idType": TEXT, "idValue": TEXT}, optional={"dateTime": TIMES})
COUNTRIES = st.sampled_from(["NO", "SE", "US", "DE", "BR", "JP", "ZA"])
ACCOUNT = st.fixed_dictionaries(
    {},
    optional={
        "id": TEXT,
        "screen_name": TEXT,
        "display_name": TEXT,
        "emails": st.lists(EMAILS, max_size=3),
        "phones": st.lists(st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True), max_size=2),
        "country": COUNTRIES,
    },
)
CONTEXTS = st.fixed_dictionaries(
    {},
    optional={
        "uploader": TEXT,
        "account": ACCOUNT,
        "country": COUNTRIES,
        "urls": st.lists(
            st.builds(
                "https://{}.example/{}".format,
                st.from_regex(r"[a-z]{1,12}", fullmatch=True),
                st.integers(0, 999),
            ),
            max_size=3,
        ),
        "uploaded_at": TIMES,
        "ip_events": st.lists(IP_EVENT, max_size=4),
        "device_ids": st.lists(DEVICE, max_size=2),
        "file_name": TEXT,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    context=CONTEXTS,
    files=st.integers(1, 3),
    categories_=st.sampled_from([("ncmec", "A2"), ("caid", "A"), ("projectvic", "1")]),
)
def test_every_draft_from_any_valid_context_validates_against_the_xsd(
    store: Store,
    reviewer: Actor,
    tmp_path: Path,
    context: dict[str, object],
    files: int,
    categories_: tuple[str, str],
) -> None:
    items = [
        _confirmed(store, reviewer, _file(tmp_path, str(n)), context, category=categories_)
        for n in range(files)
    ]
    for item in items:
        view = reports.draft(store, SENIOR, item, SETTINGS)
        _xsd_ok(view["xml"])
        assert view["status"] == "validated" and item in view["items"]
        assert all(f["fileViewedByEsp"]["value"] is False for f in view["files"])  # nobody unblurred
        for described in reports.compose_for_item(store, item, SETTINGS).files:
            _xsd_ok(cybertip.file_details_xml("123", "abc", described), "fileDetails")


# --- one report per item, per user ------------------------------------------------------------


@pytest.fixture
def fake():
    app, state = create_fake("esp", "pw")
    with ServerThread(app) as server:
        yield server.url, state


def _sending(url: str) -> reports.ReportSettings:
    return reports.ReportSettings(
        reporter_email="tns@example.org",
        clearinghouse_url=url,
        clearinghouse_user="esp",
        clearinghouse_password="pw",
    )


def test_one_report_per_item_and_files_of_one_user_share_it(
    store: Store, reviewer: Actor, tmp_path: Path, vault: Vault, fake
) -> None:
    url, state = fake
    first = _confirmed(store, reviewer, _file(tmp_path, "1"), CONTEXT, vault=vault)
    second = _confirmed(store, reviewer, _file(tmp_path, "2"), CONTEXT, vault=vault)
    other = _confirmed(store, reviewer, _file(tmp_path, "3"), {"uploader": "someone-else"}, vault=vault)
    a, again, b, c = (reports.draft(store, SENIOR, i, SETTINGS) for i in (first, first, second, other))
    assert a["report_id"] == again["report_id"] == b["report_id"] != c["report_id"]
    assert b["items"] == [first, second]
    sent = reports.submit(store, SENIOR, a["report_id"], vault, _sending(url))
    assert sent["status"] == "finished"
    assert state.calls == ["submit", "upload", "fileinfo", "upload", "fileinfo", "finish"]
    assert reports.draft(store, SENIOR, second, SETTINGS)["remote_id"] == sent["remote_id"]  # same report
    with pytest.raises(Conflict, match="finished"):
        reports.submit(store, SENIOR, a["report_id"], vault, _sending(url))
    later = _confirmed(store, reviewer, _file(tmp_path, "4"), CONTEXT, vault=vault)
    follow_up = reports.draft(store, SENIOR, later, SETTINGS)
    assert follow_up["report_id"] != a["report_id"] and follow_up["prior_reports"] == [sent["remote_id"]]
    assert (
        ET.fromstring(follow_up["xml"]).findtext("personOrUserReported/priorCTReports") == sent["remote_id"]
    )
    listed = {row["report_id"]: row["status"] for row in reports.listing(store)}
    assert listed == {
        a["report_id"]: "finished",
        c["report_id"]: "validated",
        follow_up["report_id"]: "validated",
    }
    delivered = state.reports[sent["remote_id"]]
    assert sorted(delivered.files.values()) == sorted(
        (tmp_path / n).read_bytes() for n in [Path(p).name for p in _paths(store, [first, second])]
    )
    for details in delivered.file_details.values():
        _xsd_ok(details, "fileDetails")


def _paths(store: Store, items: list[int]) -> list[str]:
    with store.session() as tx:
        from vigil.store.repo import review as review_repo

        return [review_repo.item(tx, i).path for i in items]  # type: ignore[union-attr]


def test_a_failed_submission_keeps_its_reason_and_can_be_sent_again(
    store: Store, reviewer: Actor, tmp_path: Path, vault: Vault, fake
) -> None:
    url, state = fake
    item = _confirmed(store, reviewer, _file(tmp_path, "5"), CONTEXT, vault=vault)
    draft = reports.draft(store, SENIOR, item, SETTINGS)
    state.corrupt_uploads = True
    with pytest.raises(SubmissionError, match="MD5"):
        reports.submit(store, SENIOR, draft["report_id"], vault, _sending(url))
    shown = reports.show(store, draft["report_id"], SETTINGS)
    assert shown["status"] == "retracted" and "was retracted" in shown["failure"]
    assert state.calls[-1] == "retract"
    with pytest.raises(Conflict, match="draft it again"):
        reports.submit(store, SENIOR, draft["report_id"], vault, _sending(url))
    state.corrupt_uploads = False
    assert reports.draft(store, SENIOR, item, SETTINGS)["status"] == "validated"
    assert reports.submit(store, SENIOR, draft["report_id"], vault, _sending(url))["status"] == "finished"
    actions = [e.action for e in audit.events(store, target=f"report:{draft['report_id']}")]
    assert actions == [
        "report.draft",
        "report.sending",
        "report.opened",
        "report.failed",
        "report.draft",
        "report.sending",
        "report.opened",
        "report.submit",
    ]


# --- the client and the fake clearinghouse ---------------------------------------------------


def _report(**overrides: object) -> cybertip.ReportInput:
    data = cybertip.ReportInput(
        incident_time="2026-11-02T09:00:00+00:00",
        reporter_email="tns@example.org",
        user=cybertip.ReportedUser(esp_identifier="u-17", emails=["x@mail.example"], country="NO"),
        files=[
            cybertip.ReportedFile(
                "a.jpg", {"MD5": "9e107d9d372bb6826bd81d3542a419d6"}, cybertip.Stated(True, "t")
            )
        ],
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def _client(url: str, **kwargs: object) -> ClearinghouseClient:
    return ClearinghouseClient(url, "esp", "pw", sleep=lambda _s: None, **kwargs)  # type: ignore[arg-type]


def _uploads(data: cybertip.ReportInput, payload: bytes = b"benign bytes") -> list[Upload]:
    return [Upload("a.jpg", payload, f) for f in data.files]


def test_the_fake_refuses_what_the_xsd_refuses_with_the_schemas_message(fake) -> None:
    url, state = fake
    old_layout = (
        cybertip.report_xml(_report())
        .replace("<personOrUserReportedPerson>", "")
        .replace("</personOrUserReportedPerson>", "")
    )
    assert cybertipline.problems(old_layout, "report")  # invalid: e-mail directly under the user
    with pytest.raises(SubmissionError, match="code 4100") as caught:
        _client(url).submit(old_layout, [], "key-old")
    assert "email" in str(caught.value) and state.reports == {}
    with pytest.raises(SubmissionError, match="code 4110"):
        _client(url).submit("<report", [], "key-broken")
    assert state.calls == ["submit:refused", "submit:refused"]


def test_the_fake_checks_fileinfo_against_the_xsd_too(fake) -> None:
    url, _ = fake
    import httpx

    with httpx.Client(base_url=url, auth=("esp", "pw")) as http:
        opened = http.post("/submit", content=cybertip.report_xml(_report()))
        report_id = cybertipline.decode(opened.content, "reportResponse")["reportId"]
        answer = http.post(
            "/fileinfo", content=f"<fileDetails><reportId>{report_id}</reportId></fileDetails>"
        )
    body = cybertipline.decode(answer.content, "reportResponse")
    assert body["responseCode"] == 4100 and "fileId" in body["responseDescription"]


def test_submission_flow_in_order_and_verified(fake) -> None:
    url, state = fake
    data = _report()
    sent = _client(url).submit(cybertip.report_xml(data), _uploads(data), "key-1")
    assert state.calls == ["submit", "upload", "fileinfo", "finish"]
    stored = state.reports[sent.report_id]
    assert stored.status == "finished" and list(stored.files.values()) == [b"benign bytes"]
    assert list(stored.file_details) == sent.file_ids


def test_transient_failures_are_retried_without_duplicates(fake) -> None:
    url, state = fake
    state.fail_next = 2
    data = _report()
    sent = _client(url).submit(cybertip.report_xml(data), _uploads(data, b"x"), "key-2")
    assert state.calls[:3] == ["submit:503", "submit:503", "submit"]
    assert len(state.reports) == 1 and state.reports[sent.report_id].status == "finished"
    again = _client(url).submit(cybertip.report_xml(data), _uploads(data, b"x"), "key-2")
    assert again.report_id == sent.report_id and len(state.reports) == 1  # the key replays


def test_a_later_failure_retracts_the_open_report(fake) -> None:
    url, state = fake
    client = _client(url, retries=1)
    original = client._post

    def failing_finish(http, path, key, **kwargs):  # type: ignore[no-untyped-def]
        if path == "/finish":
            raise SubmissionError("/finish: refused")
        return original(http, path, key, **kwargs)

    client._post = failing_finish  # type: ignore[method-assign]
    data = _report()
    with pytest.raises(SubmissionError, match="finish") as caught:
        client.submit(cybertip.report_xml(data), _uploads(data), "key-4")
    assert caught.value.retracted
    assert state.calls[-1] == "retract" and next(iter(state.reports.values())).status == "retracted"


def test_wrong_credentials_are_not_retried(fake) -> None:
    url, state = fake
    with pytest.raises(SubmissionError, match="code 2000"):
        ClearinghouseClient(url, "esp", "wrong", sleep=lambda _s: None).submit(
            cybertip.report_xml(_report()), [], "key-5"
        )
    assert state.calls == []


def test_actionability_names_what_is_missing_and_gives_a_verdict() -> None:
    full = _report()
    full.user.ip_events = [cybertip.IpEvent("192.0.2.7", "2026-11-01T10:00:00Z")]  # type: ignore[union-attr]
    full.files[0].preserved = True
    assert cybertip.actionability(full) == {"score": 100, "missing": [], "complete": True, "actionable": True}
    bare = cybertip.ReportInput(incident_time="2026-11-02T09:00:00Z", reporter_email="tns@example.org")
    score = cybertip.actionability(bare)
    assert score["score"] == 0 and not score["actionable"]
    assert [m["item"] for m in score["missing"]] == [
        "ip_with_time",
        "file",
        "user_identifiers",
        "location",
        "file_viewed",
    ]


def test_scan_refuses_a_bad_contexts_file_before_scanning(store: Store, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigil.interfaces.cli.main import app

    contexts = tmp_path / "contexts.json"
    bad = {"a.jpg": {"ip_events": [{"ipAddress": "<img src=x>"}], "uploaded_at": "not-a-date"}}
    contexts.write_text(json.dumps(bad))
    (tmp_path / "in").mkdir()
    result = CliRunner().invoke(
        app, ["scan", str(tmp_path / "in"), "--context", str(contexts), "--actor", "t", "--db", store.url]
    )
    assert result.exit_code == 2
    assert "a.jpg: ip_events[0].ipAddress: not an IP address" in " ".join(result.output.split())
    assert "a.jpg: uploaded_at" in result.output
    assert "scan.start" not in audit.action_counts(store)


def test_migration_keeps_the_earliest_report_of_an_item_and_fails_the_duplicates(store: Store) -> None:
    from alembic import command
    from sqlalchemy import text

    from vigil.store.db import alembic_config

    config = alembic_config(store.engine)
    command.downgrade(config, "0013")
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO review_items (id, source, sha256, status, priority, reason, context,"
                " required_votes, created_at) VALUES (1, 'api', :sha, 'confirmed', 0, '{}', '{}', 1, :now)"
            ),
            {"sha": "0" * 64, "now": now},
        )
        for report_id in (1, 2):  # the old code drafted the same item twice
            conn.execute(
                text(
                    "INSERT INTO report_submissions (id, review_item_id, status, report_xml, actionability,"
                    " idempotency_key, created_at) VALUES (:id, 1, 'draft', '<report/>', '{}', :key, :now)"
                ),
                {"id": report_id, "key": f"k{report_id}", "now": now},
            )
    command.upgrade(config, "head")
    with store.engine.begin() as conn:
        files = conn.execute(text("SELECT submission_id, review_item_id FROM report_files")).all()
        statuses = dict(conn.execute(text("SELECT id, status FROM report_submissions")).all())
        failure = conn.execute(text("SELECT failure FROM report_submissions WHERE id = 2")).scalar()
    assert [tuple(f) for f in files] == [(1, 1)]
    assert statuses == {1: "draft", 2: "failed"} and "superseded" in failure


def test_a_missing_evidence_blob_is_a_clear_refusal(
    store: Store, reviewer: Actor, tmp_path: Path, vault: Vault, fake
) -> None:
    from vigil.review.evidence import EvidenceError

    url, state = fake
    item = _confirmed(store, reviewer, _file(tmp_path, "gone"), CONTEXT, vault=vault)
    draft = reports.draft(store, SENIOR, item, SETTINGS)
    for blob in vault.folder.iterdir():
        blob.unlink()
    with pytest.raises(EvidenceError, match="missing") as caught:
        reports.submit(store, SENIOR, draft["report_id"], vault, _sending(url))
    assert caught.value.status == 409 and state.calls == []
    assert audit.action_counts(store)["evidence.unreadable"] == 1
