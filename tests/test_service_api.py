"""The JSON API: roles, hash and media matching, list management, scans, OpenAPI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import OPERATOR, bsds_images
from tests.test_scan import designate_known

from vigil.interfaces.api.app import ServiceConfig, create_app
from vigil.lists import domain as lists
from vigil.lists.formats import ListRow
from vigil.match import snapshot
from vigil.review.evidence import Vault
from vigil.review.keys import create_key
from vigil.signals.compute import compute
from vigil.sources import jobs
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ReviewItem

KNOWN = bsds_images()[10:12]


@pytest.fixture
def api(store: Store, tmp_path: Path):
    designate_known(store, KNOWN)
    # every match looks at the store's generation; no background watcher, so a test sees "stale"
    config = ServiceConfig(index_check_every=0, index_watch=False, spool_dir=tmp_path / "spool")
    app = create_app(store, Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key"), config)
    keys = {
        role: {"X-API-Key": create_key(store, OPERATOR, role, role)}
        for role in ("submitter", "reviewer", "senior_reviewer", "admin", "auditor")
    }
    with TestClient(app) as client:
        yield client, keys, store, tmp_path


def test_keys_and_roles(api) -> None:
    client, keys, store, _ = api
    assert client.post("/v1/match/hash", json={"hashes": []}).status_code == 401
    assert (
        client.post("/v1/match/hash", json={"hashes": []}, headers={"X-API-Key": "vgl_wrong"}).status_code
        == 401
    )
    assert client.get("/v1/audit/verify", headers=keys["reviewer"]).status_code == 403
    assert client.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True
    assert client.get("/v1/lists", headers=keys["auditor"]).status_code == 403
    assert audit.action_counts(store)["access.denied"] == 2


def test_match_hash_exact_and_pdq(api) -> None:
    client, keys, _, _ = api
    signals = compute("x", KNOWN[0].read_bytes(), "exact")
    body = {"hashes": [{"type": "MD5", "value": signals.md5.upper()}, {"type": "pdq", "value": signals.pdq}]}
    matches = client.post("/v1/match/hash", json=body, headers=keys["submitter"]).json()["matches"]
    assert {m["hash_type"] for m in matches} == {"md5", "pdq"}
    assert matches[0]["lists"][0]["list"] == "known"
    bad = client.post(
        "/v1/match/hash", json={"hashes": [{"type": "crc32", "value": "ab"}]}, headers=keys["submitter"]
    )
    assert bad.status_code == 422 and "unknown hash type" in bad.json()["detail"]


def test_match_media_queues_with_context_and_quarantines(api) -> None:
    client, keys, store, tmp_path = api
    context = {
        "uploader": "u-1",
        "ip_events": [{"ipAddress": "198.51.100.9", "dateTime": "2026-11-24T12:00:00Z"}],
    }
    data = KNOWN[1].read_bytes()
    reply = client.post(
        "/v1/match/media",
        files={"file": ("photo.jpg", data, "image/jpeg")},
        data={"context": json.dumps(context)},
        headers=keys["submitter"],
    ).json()
    assert reply["review_item"] and {m["hash_type"] for m in reply["matches"]} >= {"sha256", "pdq"}
    with store.session() as session:
        item = session.get(ReviewItem, reply["review_item"])
        assert item.source == "api"
        assert item.context == {  # stored normalised: the same instant, written with its offset
            "uploader": "u-1",
            "ip_events": [{"ipAddress": "198.51.100.9", "dateTime": "2026-11-24T12:00:00+00:00"}],
        }
    quarantined = list((tmp_path / "vault").iterdir())  # one blob, named by neither content nor hash
    assert len(quarantined) == 1 and data[:200] not in quarantined[0].read_bytes()
    assert hashlib.sha256(data).hexdigest()[:16] not in quarantined[0].name
    miss = client.post(
        "/v1/match/media",
        files={"file": ("o.jpg", bsds_images()[300].read_bytes())},
        headers=keys["submitter"],
    ).json()
    assert miss["matches"] == [] and miss["review_item"] is None
    refused = client.post(
        "/v1/match/media",
        files={"file": ("photo.jpg", data, "image/jpeg")},
        data={"context": json.dumps({"ip_events": [{"ipAddress": "<img src=x>", "dateTime": "not-a-date"}]})},
        headers=keys["submitter"],
    )
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {
        "ip_events[0].ipAddress",
        "ip_events[0].dateTime",
    }


def test_list_import_export_and_reload(api) -> None:
    client, keys, store, tmp_path = api
    other = compute("x", bsds_images()[300].read_bytes(), "exact")
    csv = f"hash_type,value,category\npdq,{other.pdq},2\nmd5,not-a-hash,1\n"
    ticket = client.post(
        "/v1/lists/partner/import",
        files={"file": ("l.csv", csv)},
        data={"format": "csv"},
        headers=keys["admin"],
    )
    assert ticket.status_code == 202
    job_id = ticket.json()["job"]
    query = {"hashes": [{"type": "pdq", "value": other.pdq}]}
    assert client.post("/v1/match/hash", json=query, headers=keys["submitter"]).json()["matches"] == []
    assert client.get(f"/v1/jobs/{job_id}", headers=keys["admin"]).json()["status"] == "queued"
    assert jobs.run_next(store) is not None  # what `vigil worker` does beside the service
    reply = client.get(f"/v1/jobs/{job_id}", headers=keys["admin"]).json()
    assert reply["status"] == "done" and reply["kind"] == "list_import"
    assert reply["result"]["rows"] == 1 and len(reply["result"]["rejected"]) == 1
    assert list((tmp_path / "spool").iterdir()) == []  # the spooled upload is gone once published
    found = client.post(
        "/v1/match/hash", json={"hashes": [{"type": "pdq", "value": other.pdq}]}, headers=keys["submitter"]
    ).json()["matches"]
    assert found and found[0]["lists"][0]["list"] == "partner"  # the service noticed the new generation
    exported = client.get("/v1/lists/partner/export?fmt=csv", headers=keys["admin"])
    assert other.pdq in exported.text
    assert audit.action_counts(store)["list.export"] == 1


def test_scan_via_api_fills_the_review_queue(api, tmp_path: Path) -> None:
    client, keys, store, _ = api
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(KNOWN[0].read_bytes())
    assert client.post("/v1/scans", json={"path": str(folder)}, headers=keys["reviewer"]).status_code == 403
    ticket = client.post("/v1/scans", json={"path": str(folder)}, headers=keys["admin"])
    assert ticket.status_code == 202
    job = f"/v1/scans/jobs/{ticket.json()['ticket']}"
    assert client.get(job, headers=keys["admin"]).json()["status"] == "queued"  # the service only queues
    assert client.get("/v1/review/queue", headers=keys["reviewer"]).json() == []
    assert jobs.work(store, once=True) == 1  # what `vigil worker --once` does
    done = client.get(job, headers=keys["admin"]).json()
    assert done["status"] == "done" and done["result"]["queued_for_review"] == 1
    queue = client.get("/v1/review/queue", headers=keys["reviewer"]).json()
    assert len(queue) == 1 and queue[0]["status"] == "pending"
    vote = client.post(
        f"/v1/review/{queue[0]['id']}/vote", json={"decision": "reject"}, headers=keys["reviewer"]
    )
    assert vote.json() == {"status": "pending", "votes": 1}
    again = client.post(
        f"/v1/review/{queue[0]['id']}/vote", json={"decision": "reject"}, headers=keys["reviewer"]
    )
    assert again.status_code == 409
    with store.session() as session:
        assert session.scalars(select(ReviewItem)).one().source == "scan"


def test_openapi_documents_the_api(api) -> None:
    client, keys, _, _ = api
    assert client.get("/openapi.json").status_code == 401 and client.get("/docs").status_code == 404
    paths = client.get("/openapi.json", headers=keys["submitter"]).json()["paths"]
    for path in (
        "/v1/match/hash",
        "/v1/match/media",
        "/v1/lists",
        "/v1/scans",
        "/v1/review/queue",
        "/v1/reports",
        "/v1/reports/{report_id}",
        "/v1/audit/verify",
        "/v1/transparency",
    ):
        assert path in paths
    assert not any(p.startswith("/ui") for p in paths)


def test_workers_share_index_snapshots_and_reload_without_restart(store: Store, tmp_path: Path) -> None:
    """Two apps (as two worker processes would) map one snapshot; a rebuild by one reaches the other."""
    designate_known(store, KNOWN[:1])
    index_dir = tmp_path / "index"
    vault = Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key")
    # no background watcher: which app notices first is decided by the requests below
    config = ServiceConfig(
        index_dir=index_dir, index_check_every=0, index_watch=False, spool_dir=tmp_path / "spool"
    )
    admin = {"X-API-Key": create_key(store, OPERATOR, "admin", "admin")}
    other = compute("x", bsds_images()[301].read_bytes(), "exact")
    query = {"hashes": [{"type": "pdq", "value": other.pdq}]}
    with (
        TestClient(create_app(store, vault, config)) as first,
        TestClient(create_app(store, vault, config)) as second,
    ):
        assert second.post("/v1/match/hash", json=query, headers=admin).json()["matches"] == []
        csv = f"hash_type,value\npdq,{other.pdq}\n"
        first.post(
            "/v1/lists/late/import", files={"file": ("l.csv", csv)}, data={"format": "csv"}, headers=admin
        )
        jobs.work(store, once=True)
        found = first.post("/v1/match/hash", json=query, headers=admin).json()["matches"]
        assert [m["lists"][0]["list"] for m in found] == ["late"]  # the first to notice writes a snapshot
        written = snapshot.current(index_dir)
        found = second.post("/v1/match/hash", json=query, headers=admin).json()["matches"]
        assert [m["lists"][0]["list"] for m in found] == ["late"]
        assert snapshot.current(index_dir) == written  # ... and the other maps it instead of rebuilding
        assert first.post("/v1/index/rebuild", headers=admin).json()["entries"] == 2


def test_snapshot_round_trip_for_large_lists(tmp_path: Path) -> None:
    import numpy as np

    from vigil.match import snapshot
    from vigil.match.pdq_index import FlatIndex, MultiIndexHash

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    built = MultiIndexHash(codes)
    version = tmp_path / "v1"
    version.mkdir()
    for name, array in built.arrays().items():
        np.save(version / f"mih_{name}.npy", array)
    loaded = MultiIndexHash.from_arrays(
        {p.stem[4:]: np.load(p, mmap_mode="r") for p in version.glob("mih_*.npy")}
    )
    queries = codes[:50] ^ np.uint8(1)
    assert loaded.search(queries) == built.search(queries) == FlatIndex(codes).search(queries)
    assert isinstance(loaded._order[0], np.memmap)
    assert snapshot.current(tmp_path) is None


def test_a_list_change_made_elsewhere_is_noticed_and_the_index_rebuilt(api) -> None:
    """An import by another process (CLI, worker, exchange fetch) marks the serving index stale; the
    next match rebuilds it, and the HMA status reports the real build time."""
    client, keys, store, _ = api
    other = compute("x", bsds_images()[302].read_bytes(), "exact")
    query = {"hashes": [{"type": "pdq", "value": other.pdq}]}
    assert client.post("/v1/match/hash", json=query, headers=keys["submitter"]).json()["matches"] == []
    before = client.get("/m/index/status?signal_type=pdq", headers=keys["submitter"]).json()["pdq"]
    assert before["stale"] is False
    lists.import_rows(store, OPERATOR, "elsewhere", [ListRow("pdq", other.pdq)])
    after = client.get("/m/index/status?signal_type=pdq", headers=keys["submitter"]).json()["pdq"]
    assert after["stale"] is True and after["built_to"] == before["built_to"]
    found = client.post("/v1/match/hash", json=query, headers=keys["submitter"]).json()["matches"]
    assert [m["lists"][0]["list"] for m in found] == ["elsewhere"]
    rebuilt = client.get("/m/index/status?signal_type=pdq", headers=keys["submitter"]).json()["pdq"]
    assert rebuilt["stale"] is False and rebuilt["built_to"] >= before["built_to"]


def test_fetches_and_crawls_are_queued_and_a_failure_keeps_its_reason(api) -> None:
    client, keys, store, _ = api
    assert client.post("/v1/exchanges/nowhere/fetch", headers=keys["reviewer"]).status_code == 403
    fetch = client.post("/v1/exchanges/nowhere/fetch", headers=keys["admin"])
    crawl = client.post("/v1/crawls/999/run", headers=keys["admin"])
    assert fetch.status_code == crawl.status_code == 202
    assert jobs.work(store, once=True) == 2
    for ticket, word in ((fetch, "nowhere"), (crawl, "999")):
        job = client.get(f"/v1/jobs/{ticket.json()['job']}", headers=keys["admin"]).json()
        assert job["status"] == "failed" and word in job["error"]
    assert client.get(f"/v1/jobs/{fetch.json()['job']}", headers=keys["reviewer"]).status_code == 403
    assert client.get("/v1/jobs/12345", headers=keys["admin"]).status_code == 404


def test_the_multi_worker_listener_is_tcp_so_replies_are_not_held_by_nagle() -> None:
    """uvicorn's own multi-worker socket has protocol 0, so asyncio leaves Nagle on (uvicorn issue
    3149) and every keep-alive reply waits ~40 ms; `vigil serve` binds it as TCP."""
    import socket

    from vigil.interfaces.api.serving import _TcpConfig

    sock = _TcpConfig(
        "vigil.interfaces.api.app:from_env", factory=True, host="127.0.0.1", port=0
    ).bind_socket()
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
        sock.listen()
        with socket.create_connection(sock.getsockname()) as client:
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP  # what asyncio checks before TCP_NODELAY
                assert client.fileno() > 0
    finally:
        sock.close()
