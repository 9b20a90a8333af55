"""Exchanges keep their promises: records by key (NCMEC tombstones delete, updates replace, bad records
are listed with reasons, provenance kept), shares recorded before sending and retried without
duplicates, one fetch at a time under real concurrency, and a running service that notices a fetch
made by another process and rebuilds its index by itself."""

from __future__ import annotations

import threading
import time
import typing as t
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from tests.conftest import OPERATOR, ServerThread, bsds_images
from tests.test_exchanges import PageCheckpoint, PagedExchange
from tests.test_review import _person
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEntryType, NCMECEntryUpdate
from threatexchange.exchanges.impl.file_api import FileCollaborationConfig
from threatexchange.exchanges.impl.ncmec_api import NCMECCheckpoint, NCMECSignalExchangeAPI

from vigil.actions.exchanges import sync
from vigil.actions.exchanges.apis import EXCHANGE_APIS
from vigil.actions.exchanges.file_exchange import AppendingFileExchange
from vigil.core.actor import Actor, Role
from vigil.core.errors import Conflict, Unavailable
from vigil.interfaces.api.app import ServiceConfig, create_app
from vigil.lists import banks
from vigil.lists import domain as lists
from vigil.media.decode import decode
from vigil.review import domain as review
from vigil.review.evidence import Vault
from vigil.signals import pdq
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store.db import Store
from vigil.store.models import AuditEvent, BankItem, ExchangeShare, ReviewItem

PDQ_A = "f" * 16 + "0" * 48
PDQ_B = "0" * 16 + "f" * 48
PDQ_B2 = "a5" * 32
MD5_A = "0123456789abcdef0123456789abcdef"
SHA1_B = "0123456789abcdef0123456789abcdef01234567"


def _entry(entry_id: str, **kw: t.Any) -> NCMECEntryUpdate:
    fields: dict[str, t.Any] = {
        "id": entry_id,
        "member_id": 42,
        "entry_type": NCMECEntryType.image,
        "deleted": False,
        "classification": "A1",
        "fingerprints": {},
        "feedback": {},
    }
    fields.update(kw)
    return NCMECEntryUpdate(**fields)


DELTAS: list[dict[str, NCMECEntryUpdate]] = [
    {
        "42-a": _entry("a", fingerprints={"pdq": PDQ_A, "md5": MD5_A}),
        "42-b": _entry("b", fingerprints={"pdq": PDQ_B, "sha1": SHA1_B}, classification="B2"),
        "42-c": _entry("c", fingerprints={"pdna": "not-for-vigil"}),  # PhotoDNA only: nothing to match
        "42-d": _entry("d", fingerprints={"pdq": "not hex"}),  # a broken value
    },
    {
        "42-a": _entry("a", deleted=True),  # NCMEC's tombstone
        "42-b": _entry("b", fingerprints={"pdq": PDQ_B2}, classification="A2"),  # an update
    },
]


class FakeNcmec(NCMECSignalExchangeAPI):
    """NCMEC's own client class with its own merge and conversion rules; only the transport (the
    XML hash API) is replaced by the two deltas above."""

    @classmethod
    def for_collab(cls, collab: t.Any, credentials: t.Any = None) -> FakeNcmec:
        return cls(collab, "user", "password")

    def fetch_iter(self, _types: t.Any, checkpoint: t.Any) -> t.Iterator[t.Any]:
        start = checkpoint.get_entries_max_ts if checkpoint else 0
        for step, updates in enumerate(DELTAS[start:], start + 1):
            yield state.FetchDelta(dict(updates), NCMECCheckpoint(get_entries_max_ts=step))


def test_ncmec_tombstones_delete_updates_replace_and_bad_records_are_listed(store: Store) -> None:
    if "fake_ncmec" not in EXCHANGE_APIS:
        EXCHANGE_APIS.add("fake_ncmec", lambda: FakeNcmec)
    sync.add_exchange(store, OPERATOR, "NCMEC", "fake_ncmec", {"environment": "Exploratory"})
    first = sync.fetch(store, OPERATOR, "NCMEC", max_deltas=1)
    on_list = {(r.hash_type, r.value) for r in lists.rows_of(store, "NCMEC")}
    assert on_list == {("pdq", PDQ_A), ("md5", MD5_A), ("pdq", PDQ_B), ("sha1", SHA1_B)}
    reasons = {e.where: e.reason for e in first.rejected}
    assert "pdna" in reasons["NCMEC:42-c"]  # listed with what it offered, not dropped
    assert "NCMEC:42-d" in reasons  # its only fingerprint did not validate

    second = sync.fetch(store, OPERATOR, "NCMEC")
    assert (second.added, second.removed) == (1, 1)
    on_list = {(r.hash_type, r.value) for r in lists.rows_of(store, "NCMEC")}
    assert on_list == {("pdq", PDQ_B2)}  # a's hashes gone with its tombstone; b's old ones replaced
    with store.session() as tx:
        [item] = tx.scalars(select(BankItem)).all()
        assert item.key == "42-b"
        meta = item.meta or {}
    assert meta["collab"] == {"NCMEC": ["42-b"]}
    assert meta["provenance"]["classification"] == "A2" and meta["provenance"]["member_id"] == 42
    content = banks.content(store, "NCMEC", item.id)
    assert content.signals == [("pdq", PDQ_B2)]


def _confirmed_items(store: Store, tmp_path: Path, count: int) -> None:
    known = bsds_images()[310 : 310 + count]
    rows = [lists_row(pdq.exact(decode(p.read_bytes())).hash_hex) for p in known]
    lists.import_rows(store, OPERATOR, "local", rows)
    folder = tmp_path / "uploads"
    folder.mkdir()
    for p in known:
        (folder / p.name).write_bytes(p.read_bytes())
    scan_id = run_scan(store, OPERATOR, folder, ScanOptions(workers=1, mode="exact"))
    assert review.enqueue_scan(store, OPERATOR, scan_id) == count
    alice, bob = _person(store, "alice", "reviewer"), _person(store, "bob", "reviewer")
    with store.session() as session:
        ids = list(session.scalars(select(ReviewItem.id).order_by(ReviewItem.id)))
    for item_id in ids:
        for who in (alice, bob):
            review.vote(store, who, item_id, "confirm", "projectvic", "1")


def lists_row(value: str) -> t.Any:
    from vigil.lists.formats.base import make_row

    return make_row("test", "pdq", value)


class FlakyPartner(AppendingFileExchange):
    """A partner whose connection drops on the second signal of the first run."""

    calls = 0

    def report_opinion(self, s_type: t.Any, signal: str, opinion: state.SignalOpinion) -> None:
        FlakyPartner.calls += 1
        if FlakyPartner.calls == 2:
            raise ConnectionError("connection reset by peer")
        super().report_opinion(s_type, signal, opinion)


def test_a_share_failing_half_way_is_recorded_and_a_retry_sends_only_the_rest(
    store: Store, tmp_path: Path
) -> None:
    _confirmed_items(store, tmp_path, 3)
    if "flaky" not in EXCHANGE_APIS:
        EXCHANGE_APIS.add("flaky", lambda: FlakyPartner)
    outbox = tmp_path / "partner.txt"
    sync.add_exchange(store, OPERATOR, "partner", "flaky", {"filename": str(outbox)}, share=True)
    FlakyPartner.calls = 0
    carol = Actor("carol", Role.ADMIN)
    with pytest.raises(Unavailable, match=r"sharing stopped .* after 1 sent .*ConnectionError"):
        sync.share(store, carol, "partner")
    with store.session() as tx:
        states = sorted(s.status for s in tx.scalars(select(ExchangeShare)))
    assert states == ["failed", "sent"]  # the first is recorded as sent, the second as failed
    assert sync.share(store, carol, "partner") == 2  # the failed one and the third; not the first again
    lines = outbox.read_text().splitlines()
    assert len(lines) == 3 == len(set(lines))
    assert sync.share(store, carol, "partner") == 0
    with store.session() as tx:
        actions = [e.action for e in tx.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        attempts = sorted(s.attempts for s in tx.scalars(select(ExchangeShare)))
    assert actions.count("exchange.share_pending") == 4  # every attempt announced before the call
    assert actions.count("exchange.share") == 3 and actions.count("exchange.share_failed") == 1
    assert attempts == [1, 1, 2]


class SlowPages(AppendingFileExchange):
    """A file exchange that takes its time, so two fetches overlap."""

    def fetch_iter(self, types: t.Any, checkpoint: t.Any) -> t.Iterator[t.Any]:
        time.sleep(0.5)
        yield from super().fetch_iter(types, checkpoint)


def test_two_fetches_at_once_one_runs_and_counts_are_not_doubled(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "partner.txt"
    writer = AppendingFileExchange(FileCollaborationConfig(name="p", filename=str(path)))
    opinion = state.SignalOpinion(True, state.SignalOpinionCategory.POSITIVE_CLASS, set())
    for value in (PDQ_A, PDQ_B, PDQ_B2):
        writer.report_opinion(t.cast(t.Any, sync.SIGNALS.get("pdq").te_type), value, opinion)
    if "slow" not in EXCHANGE_APIS:
        EXCHANGE_APIS.add("slow", lambda: SlowPages)
    sync.add_exchange(store, OPERATOR, "slow-x", "slow", {"filename": str(path)})
    outcomes: list[str] = []

    def run() -> None:
        try:
            outcomes.append(f"added {sync.fetch(store, OPERATOR, 'slow-x').added}")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added 3", "refused"]
    [status] = [r for r in sync.status(store) if r["name"] == "slow-x"]
    assert status["fetched"] == 3
    with pytest.raises(Conflict), sync._exchange_lock(store, "slow-x", "share"):  # a share holds it too
        sync.fetch(store, OPERATOR, "slow-x")


def test_a_running_service_rebuilds_its_index_after_another_process_fetches(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "partner.txt"
    writer = AppendingFileExchange(FileCollaborationConfig(name="p", filename=str(path)))
    opinion = state.SignalOpinion(True, state.SignalOpinionCategory.POSITIVE_CLASS, set())
    writer.report_opinion(t.cast(t.Any, sync.SIGNALS.get("pdq").te_type), PDQ_B2, opinion)
    sync.add_exchange(store, OPERATOR, "PARTNER", "file", {"filename": str(path)})
    app = create_app(
        store,
        Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key"),
        ServiceConfig(hma_anonymous_role="submitter", index_check_every=0.2),
    )
    with ServerThread(app) as server:
        before = requests.get(f"{server.url}/m/index/status", params={"signal_type": "pdq"}).json()["pdq"]
        assert before["size"] == 0 and before["stale"] is False
        sync.fetch(store, OPERATOR, "PARTNER")  # as `vigil exchanges fetch` from cron would
        deadline = time.monotonic() + 10
        status = before
        while time.monotonic() < deadline:  # only status reads: no lookup nudges the rebuild
            status = requests.get(f"{server.url}/m/index/status", params={"signal_type": "pdq"}).json()["pdq"]
            if status["size"] == 1 and not status["stale"]:
                break
            time.sleep(0.1)
        assert status["size"] == 1 and status["stale"] is False
        assert status["built_to"] >= before["built_to"]
        found = requests.get(f"{server.url}/m/raw_lookup", params={"signal_type": "pdq", "signal": PDQ_B2})
        assert found.json()["matches"] == [1]


def test_the_worker_fetches_exchanges_on_schedule(store: Store, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigil.interfaces.cli.main import app as cli

    path = tmp_path / "partner.txt"
    writer = AppendingFileExchange(FileCollaborationConfig(name="p", filename=str(path)))
    opinion = state.SignalOpinion(True, state.SignalOpinionCategory.POSITIVE_CLASS, set())
    writer.report_opinion(t.cast(t.Any, sync.SIGNALS.get("pdq").te_type), PDQ_A, opinion)
    sync.add_exchange(store, OPERATOR, "SCHEDULED", "file", {"filename": str(path)})
    runner = CliRunner()
    first = runner.invoke(cli, ["worker", "--once", "--fetch-every", "3600", "--db", store.url])
    assert first.exit_code == 0, first.output
    assert "exchange SCHEDULED: added 1" in first.output
    writer.report_opinion(t.cast(t.Any, sync.SIGNALS.get("pdq").te_type), PDQ_B, opinion)
    second = runner.invoke(cli, ["worker", "--once", "--fetch-every", "3600", "--db", store.url])
    assert "SCHEDULED" not in second.output  # fetched less than an hour ago: not due
    time.sleep(1.1)
    third = runner.invoke(cli, ["worker", "--once", "--fetch-every", "1", "--db", store.url])
    assert "exchange SCHEDULED: added 2" in third.output  # the file exchange sends its whole file again
    assert {r.value for r in lists.rows_of(store, "SCHEDULED")} == {PDQ_A, PDQ_B}


URL_DELTAS: list[dict[tuple[str, str], t.Any]] = [
    {
        ("url", "https://bad.example.org/gallery/1.jpg"): state.FetchedSignalMetadata(),
        ("url", "https://kept.example.org/a/b.html"): state.FetchedSignalMetadata(),
        ("url", "https://imgur.com/"): state.FetchedSignalMetadata(),  # a shared host: never whole
        ("raw_text", "some words"): state.FetchedSignalMetadata(),
    },
    {
        ("url", "https://bad.example.org/gallery/1.jpg"): None,
        ("url", "https://kept.example.org/a/b.html"): None,
    },
]


class UrlExchange(PagedExchange):
    """Two deltas of URL signals; the second withdraws both."""

    def fetch_iter(self, _types: t.Any, checkpoint: t.Any) -> t.Iterator[t.Any]:
        for page in range(checkpoint.page if checkpoint else 0, len(URL_DELTAS)):
            yield state.FetchDelta(dict(URL_DELTAS[page]), PageCheckpoint(page + 1))


def test_url_signals_become_blocklist_proposals_that_people_review(store: Store) -> None:
    from vigil.actions.blocking import blocklist
    from vigil.core.states import BlockStatus

    if "urls" not in EXCHANGE_APIS:
        EXCHANGE_APIS.add("urls", lambda: UrlExchange)
    sync.add_exchange(store, OPERATOR, "URLS", "urls", {})
    first = sync.fetch(store, OPERATOR, "URLS", max_deltas=1)
    assert first.routed == 2
    reasons = {e.where.split(":", 2)[1]: e.reason for e in first.rejected}
    assert "refused" in reasons["url"] and "raw_text" in reasons  # shared host and unknown type listed
    entries = {e.value: e for e in blocklist.entries(store)}
    assert {v: (e.status, e.source) for v, e in entries.items()} == {
        "https://bad.example.org/gallery/1.jpg": (BlockStatus.PENDING, "exchange:URLS"),
        "https://kept.example.org/a/b.html": (BlockStatus.PENDING, "exchange:URLS"),
    }
    assert blocklist.approved(store) == []  # nothing is blocked before a person approves it
    blocklist.review(store, Actor("dana", Role.ADMIN), entries["https://kept.example.org/a/b.html"].id, True)
    sync.fetch(store, OPERATOR, "URLS")  # the exchange withdraws both
    after = {e.value: e.status for e in blocklist.entries(store)}
    assert after == {
        "https://bad.example.org/gallery/1.jpg": BlockStatus.REJECTED,  # withdrawn while pending
        "https://kept.example.org/a/b.html": BlockStatus.APPROVED,  # a person's decision stands
    }
