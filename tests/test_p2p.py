"""P2P observations: list matching, per-host aggregation over time, top distributors, export to triage."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.core.errors import VigilError
from vigil.interfaces.cli.main import app
from vigil.sources.p2p import observations
from vigil.sources.p2p.hashes import HashFormError, parse_file_hash, parse_infohash
from vigil.sources.p2p.hosts import rank_log, to_bundle
from vigil.sources.p2p.profiles import PROFILES, Grade, parse_columns
from vigil.sources.triage.intake import parse_json
from vigil.store.db import Store
from vigil.testing.cli import app as synth_app
from vigil.testing.synth.p2p import SyntheticDht, SyntheticP2P, write_dht_log, write_observations

runner = CliRunner()


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyntheticP2P]:
    path = tmp_path_factory.mktemp("p2p") / "obs.csv"
    return path, write_observations(path, rows=150_000, planted=10, seed=2)


def _known(data: SyntheticP2P):  # type: ignore[no-untyped-def]
    known = {("btih", v) for v in data.known_btih} | {("sha1", v) for v in data.known_sha1}
    return lambda pairs: pairs & known


def test_planted_distributors_rank_first_by_client_id(log: tuple[Path, SyntheticP2P]) -> None:
    path, data = log
    ranking = rank_log(path, _known(data))
    assert not ranking.problems and ranking.observations == data.rows
    assert [h.key for h in ranking.hosts[:10]] == data.planted
    top = ranking.hosts[0]
    assert len(top.days) == 30 and len(top.ips) == 1  # behind its NAT address all month
    assert len(ranking.hosts[1].ips) == 30  # dynamic address: one host, thirty IPs
    assert data.decoy_ip in ranking.shared_ips and ranking.shared_ips[data.decoy_ip] == 300


def test_ranking_by_ip_is_fooled_by_nat_and_dynamic_addresses(log: tuple[Path, SyntheticP2P]) -> None:
    path, data = log
    by_ip = rank_log(path, _known(data), by="ip")
    assert by_ip.hosts[0].key == data.decoy_ip  # hundreds of ordinary peers look like one big distributor


def test_bad_rows_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(
        "timestamp,ip,port,client_id,infohash,file_hash,file_name\n"
        f"2026-03-01T10:00:00+00:00,192.0.2.1,6881,abc,{'a' * 40},,x\n"
        "2026-03-01T10:00:00+00:00,not-an-ip,6881,abc,,,x\n"
        f"yesterday,192.0.2.1,6881,abc,{'a' * 40},,x\n"
        "2026-03-01T10:00:00+00:00,192.0.2.1,6881,abc,,,x\n"
        f"2026-03-01T10:00:00+00:00,192.0.2.1,6881,abc,,{'b' * 12},x\n"
        "2026-03-01T10:00:00+00:00,192.0.2.1,6881,abc,not-a-hash-at-all,,x\n"
        f"1772359200,2001:db8::1,6881,def,{'c' * 40},,x\n"
        f"1772359200000,192.0.2.9,x,def,{'c' * 40},,x\n"
    )
    con = observations.load(path)
    rows = observations.rows(con)
    problems = observations.problems(con, path)
    assert len(rows) == 2 and rows[1][1] == "2001:db8::1"
    assert rows[1][0] == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)  # epoch seconds
    assert [p.where for p in problems] == [f"obs.csv:{n}" for n in (3, 4, 5, 6, 7, 9)]
    reasons = [p.reason for p in problems]
    assert "not an IP address" in reasons[0] and "not a time" in reasons[1]
    assert "no infohash or file hash" in reasons[2] and "not a file hash" in reasons[3]
    assert "not a BitTorrent info-hash" in reasons[4] and "port is not a number" in reasons[5]
    (tmp_path / "wrong.csv").write_text("when,who\n1,2\n")
    with pytest.raises(VigilError, match="needs timestamp"):
        observations.load(tmp_path / "wrong.csv")


def test_export_becomes_triage_intake(log: tuple[Path, SyntheticP2P]) -> None:
    path, data = log
    top = rank_log(path, _known(data)).hosts[0]
    report = parse_json(json.dumps(to_bundle(top)).encode(), "p2p")
    assert report.accounts == [top.client_id] and len(report.files) == len(top.known_files)
    assert report.ip_events and all(e.time is not None for e in report.ip_events)


def test_cli_rank_against_stored_lists_and_export(store: Store, tmp_path: Path) -> None:
    db = ["--db", store.url]
    path = tmp_path / "obs.csv"
    assert runner.invoke(synth_app, ["p2p-log", str(path), "--rows", "20000"]).exit_code == 0
    listing = path.with_suffix(".known.csv")
    assert runner.invoke(app, ["lists", "import", str(listing), "--name", "p2p-known", *db]).exit_code == 0
    out = tmp_path / "bundles.jsonl"
    result = runner.invoke(app, ["p2p", "rank", str(path), "--top", "10", "--export", str(out), *db])
    assert result.exit_code == 0, result.output
    assert "300 IPs" not in result.output and "IPs shared by several clients" in result.output
    bundles = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(bundles) == 10
    result = runner.invoke(app, ["triage", "import", str(out), *db])
    assert "10 reports added" in result.output


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("A" * 40, ("btih", "a" * 40)),
        (base64.b32encode(bytes.fromhex("ab" * 20)).decode(), ("btih", "ab" * 20)),
        ("magnet:?xt=urn:btih:" + "cd" * 20 + "&dn=x", ("btih", "cd" * 20)),
        ("magnet:?xt=urn:btmh:1220" + "ef" * 32, ("btmh", "ef" * 32)),
        ("12" * 32, ("btmh", "12" * 32)),
    ],
)
def test_infohash_spellings(spelling: str, expected: tuple[str, str]) -> None:
    assert parse_infohash(spelling) == expected


def test_file_hash_spellings_and_refusals() -> None:
    sha1 = bytes.fromhex("9a" * 20)
    gnutella = base64.b32encode(sha1).decode()
    assert parse_file_hash(gnutella) == ("sha1", sha1.hex())  # never typed as MD5 for its 32 characters
    assert parse_file_hash(f"urn:sha1:{gnutella}") == ("sha1", sha1.hex())
    assert parse_file_hash("ed2k://|file|a.avi|1000|" + "0f" * 16 + "|/") == ("ed2k", "0f" * 16)
    assert parse_file_hash("0f" * 16) == ("md5", "0f" * 16)
    assert parse_file_hash("0f" * 16, "ed2k") == ("ed2k", "0f" * 16)
    for junk in ("not-a-hash-at-all", "z" * 40, "0f" * 15, "magnet:?dn=nothing"):
        with pytest.raises(HashFormError):
            parse_file_hash(junk)
        with pytest.raises(HashFormError):
            parse_infohash(junk)


@pytest.fixture(scope="module")
def dht(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyntheticDht]:
    path = tmp_path_factory.mktemp("dht") / "dht.csv"
    return path, write_dht_log(path, rows=120_000, planted=5, seed=3)


def test_dht_log_with_rotating_peer_ids_and_a_query_only_crawler(dht: tuple[Path, SyntheticDht]) -> None:
    """A DHT crawler's log through the dht profile: the planted distributors are the top 5, each one
    host however often it restarted; the node that only asked for 400 known info-hashes is not ranked."""
    path, data = dht
    known = {("btih", v) for v in data.known_btih}
    ranking = rank_log(path, lambda pairs: pairs & known, PROFILES.get("dht"))
    assert [h.key for h in ranking.hosts[:5]] == data.planted
    for host, ids in zip(ranking.hosts[:5], data.planted_ids, strict=True):
        assert sorted([host.key, *host.aliases]) == sorted(ids)  # every restart stitched back
        assert host.known_downloaded  # some content was downloaded from it: the strongest grade
    assert data.crawler not in {h.key for h in ranking.hosts}
    assert ranking.query_only[0].key == data.crawler and ranking.query_only[0].known_queried == 400
    assert len(ranking.problems) == data.junk_rows
    assert all("not a BitTorrent info-hash" in p.reason for p in ranking.problems)
    unstitched = rank_log(path, lambda pairs: pairs & known, PROFILES.get("dht"), stitch_overlap=1.01)
    assert len(unstitched.hosts) > len(ranking.hosts) + 40  # without stitching, restarts split hosts


def test_named_crawlers_and_column_mapping(dht: tuple[Path, SyntheticDht], tmp_path: Path) -> None:
    path, data = dht
    known = {("btih", v) for v in data.known_btih}
    mapped = parse_columns("time=ts,event=msg,client_id=node_id,infohash=info_hash,ip=ip,port=port")
    assert mapped.default_grade is Grade.ANNOUNCED and not mapped.events  # no event words: all announced
    ranking = rank_log(path, lambda pairs: pairs & known, mapped, crawlers=[data.crawler])
    assert [h.key for h in ranking.excluded] == [data.crawler]
    with pytest.raises(VigilError, match="choose --profile or map with --columns"):
        rank_log(path, lambda pairs: pairs & known)  # the vigil profile's columns are not in this log


def test_cli_profiles_and_a_dht_log(
    dht: tuple[Path, SyntheticDht], tmp_path: Path, store: Store, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    path, data = dht
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    saved = runner.invoke(
        app,
        [
            "p2p",
            "profile",
            "save",
            "mycrawler",
            "--base",
            "dht",
            "--columns",
            "client_id=node_id",
            "--event",
            "announce_peer=announced",
        ],
    )
    assert saved.exit_code == 0, saved.output
    shown = runner.invoke(app, ["p2p", "profile", "show", "mycrawler"])
    assert '"get_peers": "queried"' in shown.output
    listing = tmp_path / "known.csv"
    listing.write_text("hash_type,value\n" + "".join(f"btih,{v}\n" for v in data.known_btih))
    db = ["--db", store.url]
    assert runner.invoke(app, ["lists", "import", str(listing), "--name", "dht-known", *db]).exit_code == 0
    result = runner.invoke(app, ["p2p", "rank", str(path), "--profile", "mycrawler", "--top", "5", *db])
    assert result.exit_code == 0, result.output
    assert "1 only queried" not in result.output and "only queried" in result.output
    assert f"{data.junk_rows} rows skipped" in result.output
