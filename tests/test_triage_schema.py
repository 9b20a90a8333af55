"""Triage reads NCMEC's real schema: hand-written CyberTipline bundles of several shapes, a Vigil
report that makes the round trip without losing an element, per-report errors, and the per-service
feedback sheet."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from tests.conftest import ServerThread, key_holder
from tests.test_reports import CONTEXT, SENIOR, _confirmed, _file
from typer.testing import CliRunner

from vigil.actions.reports import domain as reports
from vigil.core import cybertipline
from vigil.interfaces.cli.main import app
from vigil.review.evidence import Vault
from vigil.sources.triage.assess import FileStatus
from vigil.sources.triage.feedback import feedback
from vigil.sources.triage.intake import parse_json, parse_xml, read_bundles
from vigil.sources.triage.pipeline import run_triage
from vigil.store import audit
from vigil.store.db import Store
from vigil.testing.fake_clearinghouse import create_fake

CSAM = cybertipline.INCIDENT_CSAM
MD5 = hashlib.md5(b"benign one").hexdigest()
SHA256 = hashlib.sha256(b"benign two").hexdigest()

UPLOAD = f"""<cybertipBundle service="chatapp">
<report>
  <incidentSummary>
    <incidentType>{CSAM}</incidentType>
    <platform>ChatApp Messenger</platform>
    <escalateToHighPriority>Ongoing contact with a child</escalateToHighPriority>
    <reportAnnotations><sextortion>true</sextortion></reportAnnotations>
    <incidentDateTime>2026-03-04T05:06:07-05:00</incidentDateTime>
  </incidentSummary>
  <reporter><reportingPerson><email>safety@chatapp.example</email></reportingPerson></reporter>
  <personOrUserReported>
    <personOrUserReportedPerson>
      <phone countryCallingCode="+47">22000000</phone>
      <email verified="true">First@Mail.Example</email>
    </personOrUserReportedPerson>
    <espIdentifier>8812</espIdentifier>
    <screenName>night_owl</screenName>
    <ipCaptureEvent>
      <ipAddress>198.18.7.7</ipAddress><eventName>Login</eventName>
      <dateTime>2026-03-04T05:00:00-05:00</dateTime><possibleProxy>true</possibleProxy>
    </ipCaptureEvent>
    <deviceId><idType>IMEI</idType><idValue>490154203237518</idValue></deviceId>
    <estimatedLocation><countryCode>SE</countryCode></estimatedLocation>
    <associatedAccount type="Linked">
      <platform>PhotoShare</platform><email>alt@mail.example</email><espIdentifier>ps-9</espIdentifier>
    </associatedAccount>
  </personOrUserReported>
  <personOrUserReported>
    <espIdentifier>8813</espIdentifier>
    <ipCaptureEvent><ipAddress>198.18.7.8</ipAddress><dateTime>2026-03-04T06:00:00Z</dateTime></ipCaptureEvent>
  </personOrUserReported>
  <intendedRecipient><espIdentifier>recipient-1</espIdentifier></intendedRecipient>
  <additionalInfo>Reported after a user complaint.</additionalInfo>
</report>
<fileDetails>
  <reportId>123456</reportId><fileId>f-1</fileId><originalFileName>img1.jpg</originalFileName>
  <fileViewedByEsp>true</fileViewedByEsp>
  <fileAnnotations><viral>true</viral></fileAnnotations>
  <industryClassification>B2</industryClassification>
  <originalFileHash hashType="MD5">{MD5.upper()}</originalFileHash>
  <originalFileHash hashType="PhotoDNA">AAECAwQFBgcICQoLDA0ODw==</originalFileHash>
  <ipCaptureEvent><ipAddress>198.18.9.9</ipAddress><dateTime>2026-03-04T05:06:07-05:00</dateTime></ipCaptureEvent>
</fileDetails>
<fileDetails>
  <reportId>123456</reportId><fileId>f-2</fileId><fileName>b.jpg</fileName>
  <fileViewedByEsp>false</fileViewedByEsp><potentialMeme>true</potentialMeme>
  <originalFileHash hashType="SHA256">{SHA256}</originalFileHash>
</fileDetails>
</cybertipBundle>"""

P2P = f"""<report>
  <incidentSummary><incidentType>{CSAM}</incidentType><incidentDateTime>2026-02-01T12:00:00Z</incidentDateTime>
  </incidentSummary>
  <internetDetails><peer2peerIncident><client>BitTorrent</client>
    <ipCaptureEvent><ipAddress>198.19.0.50</ipAddress><dateTime>2026-02-01T11:59:00Z</dateTime><port>6881</port>
    </ipCaptureEvent><fileNames>holiday.jpg</fileNames></peer2peerIncident></internetDetails>
  <reporter><reportingPerson><email>monitor@hotline.example</email></reportingPerson></reporter>
</report>"""

URL_ONLY = f"""<report>
  <incidentSummary><incidentType>{CSAM}</incidentType><incidentDateTime>2026-02-02T08:00:00+01:00</incidentDateTime>
  </incidentSummary>
  <internetDetails><webPageIncident><url>https://images.example/g/1</url><url>https://images.example/g/2</url>
  </webPageIncident></internetDetails>
  <reporter><reportingPerson><email>tips@host.example</email></reportingPerson></reporter>
</report>"""

BAD_IP_KEPT = P2P.replace("<ipAddress>198.19.0.50</ipAddress>", "<ipAddress>not-an-ip</ipAddress>").replace(
    "<client>BitTorrent</client>",
    "<client>BitTorrent</client><ipCaptureEvent><ipAddress>198.19.0.51</ipAddress>"
    "<dateTime>2026-02-01T11:58:00Z</dateTime></ipCaptureEvent>",
)
OLD_LAYOUT = URL_ONLY.replace(
    "</reporter>", "</reporter><personOrUserReported><email>x@mail.example</email></personOrUserReported>"
)
NO_FILE_ID = UPLOAD.replace("<fileId>f-2</fileId>", "")
BAD_TIME = P2P.replace("2026-02-01T12:00:00Z", "yesterday")


def _write(folder: Path, bundles: dict[str, str]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name, text in bundles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in bundles]


def test_real_schema_bundles_of_every_shape_import_with_their_fields(tmp_path: Path) -> None:
    paths = _write(
        tmp_path / "in",
        {"upload.xml": UPLOAD, "p2p-2026-0001.xml": P2P, "url-only.xml": URL_ONLY, "bad-ip.xml": BAD_IP_KEPT},
    )
    intake = read_bundles(paths)
    assert intake.rejected == []
    upload, p2p, url_only, bad_ip = intake.reports
    assert (
        upload.report_id == "123456" and upload.esp == "chatapp"
    )  # id from fileDetails, service from envelope
    assert upload.accounts == ["8812", "night_owl", "8813"] and upload.emails == ["first@mail.example"]
    assert upload.phones == ["22000000"] and upload.device_ids == ["IMEI:490154203237518"]
    assert upload.linked_accounts == ["ps-9", "alt@mail.example"] and upload.recipients == ["recipient-1"]
    assert upload.country == "SE" and upload.escalation == "Ongoing contact with a child"
    assert (
        upload.flags == ["esp_high_priority", "sextortion"]
        and upload.notes == "Reported after a user complaint."
    )
    proxied, _, uploaded = upload.ip_events
    assert (proxied.ip, proxied.possible_proxy, proxied.event) == ("198.18.7.7", True, "Login")
    assert proxied.time is not None and proxied.time.utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]
    assert (uploaded.ip, uploaded.event) == ("198.18.9.9", "Upload")  # the file's upload IP is kept
    first, other = upload.files
    assert (
        first.attached and first.viewed and first.category == "ncmec:B2" and first.annotations == ("viral",)
    )
    assert first.hashes == {"md5": MD5} and first.other_hashes == (("PhotoDNA", "AAECAwQFBgcICQoLDA0ODw=="),)
    assert other.name == "b.jpg" and not other.viewed and other.annotations == ("potentialMeme",)
    assert upload.raw["fileDetails"][1]["fileName"] == "b.jpg"
    assert p2p.report_id == "p2p-2026-0001" and p2p.accounts == [] and p2p.esp == "hotline.example"
    assert (
        p2p.ip_events[0].port == 6881
        and p2p.raw["report"]["internetDetails"][0]["peer2peerIncident"]["fileNames"] == "holiday.jpg"
    )
    assert (
        url_only.urls == ["https://images.example/g/1", "https://images.example/g/2"] and not url_only.files
    )
    assert [e.ip for e in bad_ip.ip_events] == ["198.19.0.51"]
    assert bad_ip.problems == ["not an IP address: 'not-an-ip'"]
    assert bad_ip.raw["report"]["internetDetails"][0]["peer2peerIncident"]["ipCaptureEvent"][1][
        "ipAddress"
    ] == ("not-an-ip")  # kept verbatim


def test_malformed_bundles_get_per_report_errors_and_the_rest_go_on(tmp_path: Path) -> None:
    paths = _write(
        tmp_path / "in",
        {
            "ok.xml": P2P,
            "old-layout.xml": OLD_LAYOUT,
            "no-file-id.xml": NO_FILE_ID,
            "bad-time.xml": BAD_TIME,
            "broken.xml": "<report><incidentSummary>",
        },
    )
    intake = read_bundles(paths)
    assert [r.report_id for r in intake.reports] == ["ok"]
    reasons = {p.where: p.reason for p in intake.rejected}
    assert "Unexpected child with tag 'email'" in reasons["old-layout.xml"]
    assert (
        reasons["no-file-id.xml"].startswith("fileDetails 2: /fileDetails")
        and "fileId" in reasons["no-file-id.xml"]
    )
    assert "incidentDateTime" in reasons["bad-time.xml"] and "yesterday" in reasons["bad-time.xml"]
    assert "not well-formed" in reasons["broken.xml"]


def test_completeness_gives_an_actionable_verdict_and_age_in_doubt(tmp_path: Path) -> None:
    upload = parse_xml(UPLOAD.encode(), "upload.xml")
    p2p = parse_xml(P2P.encode(), "p2p.xml")
    result = run_triage([upload, p2p], lambda fs: [FileStatus(False) for _ in fs])
    a, b = result.assessments
    assert a.actionable and a.age_in_doubt and "pubescent" in a.age_why  # B2 only: age must be established
    assert not b.actionable and {m["item"] for m in b.missing} >= {"file", "user_identifiers", "location"}
    prepubescent = parse_xml(UPLOAD.replace("B2", "A1").encode(), "u.xml")
    assert (
        not run_triage([prepubescent], lambda fs: [FileStatus(False) for _ in fs]).assessments[0].age_in_doubt
    )


def _flatten(element: ET.Element, path: str = "") -> list[tuple[str, tuple[tuple[str, str], ...], str]]:
    here = f"{path}/{element.tag}"
    out = [(here, tuple(sorted(element.attrib.items())), (element.text or "").strip())]
    for child in element:
        out += _flatten(child, here)
    return out


@pytest.fixture
def delivered(store: Store, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A Vigil report with two files about one user, as the fake clearinghouse received it."""
    reviewer = key_holder(store, "alice", "reviewer")[1]
    vault = Vault.open(tmp_path / "vault", tmp_path / "keys" / "vault.key")
    flags = {"publicly_available": True, "potential_meme": True}
    items = [
        _confirmed(store, reviewer, _file(tmp_path, "x"), CONTEXT, vault=vault, flags=flags, unblur=True),
        _confirmed(store, reviewer, _file(tmp_path, "y"), CONTEXT, vault=vault, category=("ncmec", "A2")),
    ]
    fake_app, state = create_fake("esp", "pw")
    with ServerThread(fake_app) as server:
        settings = reports.ReportSettings("tns@example.org", ("Trust", "Safety"), server.url, "esp", "pw")
        report_id = reports.draft(store, SENIOR, items[0], settings)["report_id"]
        assert reports.draft(store, SENIOR, items[1], settings)["report_id"] == report_id
        remote = reports.submit(store, SENIOR, report_id, vault, settings)["remote_id"]
    return state.reports[remote], remote


def test_a_vigil_report_makes_the_round_trip_through_triage_element_by_element(delivered) -> None:  # type: ignore[no-untyped-def]
    sent, remote = delivered
    details = list(sent.file_details.values())
    bundle = f'<cybertipBundle service="vigil-test">{sent.report_xml}{"".join(details)}</cybertipBundle>'
    imported = parse_xml(bundle.encode(), "sent.xml")
    assert imported.report_id == remote and imported.problems == []
    # Every element and attribute of the report and of each fileDetails survives, in order.
    again = cybertipline.encode(imported.raw["report"], "report")
    assert _flatten(ET.fromstring(again)) == _flatten(ET.fromstring(sent.report_xml))
    for original, kept in zip(details, imported.raw["fileDetails"], strict=True):
        assert _flatten(ET.fromstring(cybertipline.encode(kept, "fileDetails"))) == _flatten(
            ET.fromstring(original)
        )
    # And what triage uses became fields.
    assert imported.accounts == ["u-17", "sample_user"] and imported.emails == ["sample@mail.example"]
    assert imported.phones == ["+47 22 00 00 00"] and imported.device_ids == ["advertising id:ad-1"]
    assert imported.country == "NO" and imported.urls == ["https://files.example.org/a/1"]
    assert {(e.ip, e.event, e.possible_proxy) for e in imported.ip_events} == {
        ("192.0.2.7", "Upload", None),
        ("2001:db8::1", "Login", True),
    }
    assert imported.incident_time == datetime.fromisoformat("2026-11-01T10:00:00+09:00")
    assert [f.category for f in imported.files] == ["ncmec:B1", "ncmec:A2"]
    assert [f.viewed for f in imported.files] == [True, False]  # only the first was unblurred
    assert imported.files[0].annotations == ("potentialMeme", "publiclyAvailable")
    assert all(f.attached and set(f.hashes) == {"md5", "sha256"} for f in imported.files)


def _service_report(service: str, n: int, *, ip: bool, account: bool, country: bool, file: bool) -> dict:  # type: ignore[type-arg]
    reported: dict[str, object] = {}
    if ip:
        reported["ipEvents"] = [{"ip": f"198.18.{n}.1", "dateTime": "2026-04-01T10:00:00Z"}]
    if account:
        reported["accounts"] = [f"{service}-user-{n}"]
    if country:
        reported["country"] = "NO"
    files = [{"sha256": hashlib.sha256(f"{service}{n}".encode()).hexdigest(), "attached": file}]
    return {
        "reportId": f"{service}-{n}",
        "esp": service,
        "incident": {"dateTime": "2026-04-01T10:00:00Z"},
        "reported": reported,
        "files": files,
    }


def _feedback_intake() -> list:  # type: ignore[type-arg]
    """alpha: 4 reports, 3 actionable (one lacks an IP); beta: 2, none (no location, no file);
    gamma: 1 actionable; one alpha report arrives a quarter later."""
    plan = [
        ("alpha", dict(ip=True, account=True, country=True, file=True)),
        ("alpha", dict(ip=True, account=True, country=True, file=True)),
        ("alpha", dict(ip=False, account=True, country=True, file=True)),
        ("beta", dict(ip=True, account=True, country=False, file=False)),
        ("beta", dict(ip=True, account=False, country=False, file=False)),
        ("gamma", dict(ip=True, account=True, country=True, file=True)),
        ("alpha", dict(ip=True, account=True, country=True, file=True)),
    ]
    out = []
    for n, (service, parts) in enumerate(plan):
        report = parse_json(json.dumps(_service_report(service, n, **parts)).encode(), f"{service}.json")
        report.received = datetime(2026, 7 if n == 6 else 4, 2, tzinfo=UTC)
        out.append(report)
    return out


def test_feedback_sheet_gives_each_service_its_actionable_share_and_missing_fields() -> None:
    result = run_triage(_feedback_intake(), lambda fs: [FileStatus(False) for _ in fs], match_files=False)
    rows = {(r.service, r.period): r for r in feedback(result.assessments, "quarter")}
    assert set(rows) == {
        ("alpha", "2026-Q2"),
        ("alpha", "2026-Q3"),
        ("beta", "2026-Q2"),
        ("gamma", "2026-Q2"),
    }
    alpha, beta = rows["alpha", "2026-Q2"], rows["beta", "2026-Q2"]
    assert (alpha.reports, alpha.actionable, alpha.share_actionable) == (3, 2, 2 / 3)
    assert alpha.missing["ip_with_time"] == 1 and alpha.missing["file"] == 0
    assert (beta.reports, beta.actionable) == (2, 0)
    assert (
        beta.missing["location"] == 2 and beta.missing["file"] == 2 and beta.missing["user_identifiers"] == 1
    )
    assert rows["gamma", "2026-Q2"].share_actionable == 1.0 and rows["alpha", "2026-Q3"].reports == 1
    by_year = feedback(result.assessments, "year", by="incident")
    assert [(r.service, r.period, r.reports) for r in by_year] == [
        ("alpha", "2026", 4),
        ("beta", "2026", 2),
        ("gamma", "2026", 1),
    ]


def test_feedback_cli_writes_counts_only(store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    lines = [json.dumps(r.raw) for r in _feedback_intake()]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    db = ["--db", store.url]
    assert (
        runner.invoke(app, ["triage", "import", str(tmp_path / "in.jsonl"), "--actor", "unit", *db]).exit_code
        == 0
    )
    out = tmp_path / "sheet.csv"
    result = runner.invoke(app, ["triage", "feedback", "--out", str(out), "--service", "beta", *db])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["service"] == "beta" and rows[0]["share_actionable"] == "0.000"
    assert rows[0]["missing_location"] == "2"
    text = out.read_text()
    assert "beta-" not in text and "198.18" not in text  # no report ids, accounts or IPs leave the unit
    assert [e.actor for e in audit.events(store, action="triage.import")] == ["operator:unit"]
