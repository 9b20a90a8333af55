"""P2P observations: list matching, per-host aggregation over time, top distributors, export to triage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.core.errors import ItemError, VigilError
from vigil.interfaces.cli.main import app
from vigil.sources.p2p.hosts import rank_hosts, to_bundle
from vigil.sources.p2p.observations import read_observations
from vigil.sources.triage.intake import parse_json
from vigil.store.db import Store
from vigil.testing.cli import app as synth_app
from vigil.testing.synth.p2p import SyntheticP2P, write_observations

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
    problems: list[ItemError] = []
    ranking = rank_hosts(read_observations(path, problems), _known(data))
    assert not problems and ranking.observations == data.rows
    assert [h.key for h in ranking.hosts[:10]] == data.planted
    top = ranking.hosts[0]
    assert len(top.days) == 30 and len(top.ips) == 1  # behind its NAT address all month
    assert len(ranking.hosts[1].ips) == 30  # dynamic address: one host, thirty IPs
    assert data.decoy_ip in ranking.shared_ips and ranking.shared_ips[data.decoy_ip] == 300


def test_ranking_by_ip_is_fooled_by_nat_and_dynamic_addresses(log: tuple[Path, SyntheticP2P]) -> None:
    path, data = log
    by_ip = rank_hosts(read_observations(path, []), _known(data), by="ip")
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
    )
    problems: list[ItemError] = []
    rows = list(read_observations(path, problems))
    assert len(rows) == 1
    assert [p.where for p in problems] == ["obs.csv:3", "obs.csv:4", "obs.csv:5", "obs.csv:6"]
    (tmp_path / "wrong.csv").write_text("when,who\n1,2\n")
    with pytest.raises(VigilError, match="needs timestamp"):
        list(read_observations(tmp_path / "wrong.csv", []))


def test_export_becomes_triage_intake(log: tuple[Path, SyntheticP2P]) -> None:
    path, data = log
    top = rank_hosts(read_observations(path, []), _known(data)).hosts[0]
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
