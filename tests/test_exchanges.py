"""Exchanges through python-threatexchange: file round trip, per-item rejection, checkpoints, sharing."""

from __future__ import annotations

import dataclasses
import typing as t
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import OPERATOR, bsds_images
from tests.test_review import _person
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.collab_config import CollaborationConfigWithDefaults
from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPIWithSimpleUpdates
from threatexchange.signal_type.pdq.signal import PdqSignal
from typer.testing import CliRunner

from vigil.actions.exchanges import sync
from vigil.actions.exchanges.apis import EXCHANGE_APIS
from vigil.actions.exchanges.file_exchange import AppendingFileExchange
from vigil.core.actor import Actor, Role
from vigil.core.errors import VigilError
from vigil.interfaces.cli.main import app
from vigil.lists import domain as lists
from vigil.match.matcher import Matcher
from vigil.media.decode import decode
from vigil.review import domain as review
from vigil.signals import pdq
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store.db import Store
from vigil.store.models import AuditEvent, ReviewItem
from vigil.store.repo import lists as list_repo

PARTNER = bsds_images()[200:206]


CAROL = Actor("carol", Role.ADMIN)


def _partner_file(tmp_path: Path) -> Path:
    """A partner publishes a signal file in the line format threatexchange's file exchange reads."""
    path = tmp_path / "partner-signals.txt"
    partner = AppendingFileExchange(FileCollaborationConfig(name="partner", filename=str(path)))
    opinion = state.SignalOpinion(True, state.SignalOpinionCategory.POSITIVE_CLASS, set())
    for image in PARTNER:
        partner.report_opinion(PdqSignal, pdq.exact(decode(image.read_bytes())).hash_hex, opinion)
    return path


def test_file_exchange_round_trip_matches_the_partners_images(store: Store, tmp_path: Path) -> None:
    path = _partner_file(tmp_path)
    with path.open("a") as handle:  # malformed payload items: rejected one by one, the rest still load
        handle.write("pdq not-a-hash\nraw_text some words\nvideo_md5 " + "e" * 32 + "\n")
    sync.add_exchange(store, OPERATOR, "partner", "file", {"filename": str(path)}, category="partner-cat")
    result = sync.fetch(store, OPERATOR, "partner")
    assert result.added == len(PARTNER) + 1
    assert [p.reason for p in result.rejected] == [
        "invalid PDQ hash",
        "signal type 'raw_text' is not one Vigil can match (pdq, video_md5, video_sha256)",
    ]
    matcher = Matcher(store)
    for image in PARTNER:
        [hit, *_] = matcher.match_hashes([("pdq", pdq.exact(decode(image.read_bytes())).hash_hex)])
        assert hit.distance == 0
        assert [(s.list_name, s.category, s.origin) for s in hit.sources] == [
            ("partner", "partner-cat", "exchange:partner")
        ]
    assert not matcher.match_hashes([("pdq", pdq.exact(decode(bsds_images()[0].read_bytes())).hash_hex)])
    [row] = sync.status(store)
    assert row["success"] and row["fetched"] == len(PARTNER) + 1 and row["rejected"] == 2


def test_a_failed_fetch_is_recorded_and_reported(store: Store, tmp_path: Path) -> None:
    sync.add_exchange(store, OPERATOR, "gone", "file", {"filename": str(tmp_path / "missing.txt")})
    with pytest.raises(VigilError, match="fetch failed"):
        sync.fetch(store, OPERATOR, "gone")
    [row] = sync.status(store)
    assert row["success"] is False and "No such file" in row["error"]


@dataclasses.dataclass
class PageCheckpoint(state.FetchCheckpointBase):
    page: int = 0


@dataclasses.dataclass
class PagedConfig(CollaborationConfigWithDefaults):
    pages: int = 3


HASHES = [f"{i:02x}" * 32 for i in range(1, 10)]
served: list[int] = []


class PagedExchange(
    SignalExchangeAPIWithSimpleUpdates[PagedConfig, PageCheckpoint, state.FetchedSignalMetadata]
):
    """A test plug-in: three pages of three hashes; the last page withdraws the first hash."""

    def __init__(self, collab: PagedConfig) -> None:
        self.collab = collab

    @staticmethod
    def get_config_cls() -> type[PagedConfig]:
        return PagedConfig

    @staticmethod
    def get_checkpoint_cls() -> type[PageCheckpoint]:
        return PageCheckpoint

    @staticmethod
    def get_record_cls() -> type[state.FetchedSignalMetadata]:
        return state.FetchedSignalMetadata

    @classmethod
    def for_collab(cls, collab: PagedConfig) -> PagedExchange:
        return cls(collab)

    def fetch_iter(self, _types: t.Any, checkpoint: PageCheckpoint | None) -> t.Iterator[t.Any]:
        for page in range(checkpoint.page if checkpoint else 0, self.collab.pages):
            served.append(page)
            updates: dict[tuple[str, str], state.FetchedSignalMetadata | None] = {
                ("pdq", h): state.FetchedSignalMetadata() for h in HASHES[page * 3 : page * 3 + 3]
            }
            if page == self.collab.pages - 1:
                updates[("pdq", HASHES[0])] = None
            yield state.FetchDelta(updates, PageCheckpoint(page + 1))


def test_checkpoints_resume_an_interrupted_fetch_and_withdrawals_apply(store: Store) -> None:
    if "paged" not in EXCHANGE_APIS:
        EXCHANGE_APIS.add("paged", lambda: PagedExchange)
    served.clear()
    sync.add_exchange(store, OPERATOR, "paged-x", "paged", {"pages": 3})
    first = sync.fetch(store, OPERATOR, "paged-x", max_deltas=1)  # interrupted after one page
    assert (first.added, first.deltas) == (3, 1)
    second = sync.fetch(store, OPERATOR, "paged-x")
    assert served == [0, 1, 2]  # page 0 was not fetched again
    assert (second.added, second.removed) == (6, 1)
    with store.session() as session:
        on_list = list_repo.lookup_exact(session, [("pdq", h) for h in HASHES])
    listed = {h for (_, h), _ in on_list.items()}
    remaining = [row for row in lists.rows_of(store, "paged-x")]
    assert {r.value for r in remaining} == set(HASHES[1:]) and listed >= set(HASHES[1:])
    assert sync.fetch(store, OPERATOR, "paged-x").deltas == 0 and served == [0, 1, 2]


def test_sharing_is_opt_in_audited_and_carries_the_agreement(store: Store, tmp_path: Path) -> None:
    known = bsds_images()[300:302]
    lists.import_rows(
        store,
        OPERATOR,
        "local",
        [lists_row(pdq.exact(decode(p.read_bytes())).hash_hex) for p in known],
    )
    folder = tmp_path / "uploads"
    folder.mkdir()
    for p in known:
        (folder / p.name).write_bytes(p.read_bytes())
    scan_id = run_scan(store, OPERATOR, folder, ScanOptions(workers=1, mode="exact"))
    assert review.enqueue_scan(store, OPERATOR, scan_id) == 2
    alice, bob = _person(store, "alice", "reviewer"), _person(store, "bob", "reviewer")
    with store.session() as session:
        ids = list(session.scalars(select(ReviewItem.id).order_by(ReviewItem.id)))
    for who in (alice, bob):
        review.vote(store, who, ids[0], "confirm", "projectvic", "1")  # only the first is confirmed
    outbox = tmp_path / "to-partner.txt"
    sync.add_exchange(store, OPERATOR, "quiet", "file", {"filename": str(outbox)})
    with pytest.raises(VigilError, match="opt-in"):
        sync.share(store, CAROL, "quiet")
    sync.add_exchange(
        store, OPERATOR, "partner-out", "file", {"filename": str(outbox)}, list_name="partner-in", share=True
    )
    assert sync.share(store, CAROL, "partner-out") == 1
    assert sync.share(store, CAROL, "partner-out") == 0  # each signal once
    # The partner reads it back through threatexchange's own client.
    reader = LocalFileSignalExchangeAPI(FileCollaborationConfig(name="in", filename=str(outbox)))
    [delta] = list(reader.fetch_iter([PdqSignal], None))
    expected = pdq.exact(decode(known[0].read_bytes())).hash_hex
    assert list(delta.updates) == [("pdq", expected)]
    with store.session() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.share")).all()
    assert event.actor == "admin:carol" and '"decision":"confirm"' in event.detail.replace(" ", "")


def lists_row(value: str):  # type: ignore[no-untyped-def]
    from vigil.lists.formats.base import make_row

    return make_row("test", "pdq", value)


def test_cli_add_fetch_status(store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    path = _partner_file(tmp_path)
    db = ["--db", store.url]
    import json

    result = runner.invoke(
        app, ["exchanges", "add", "p1", "--api", "file", "--config", json.dumps({"filename": str(path)}), *db]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["exchanges", "add", "p2", "--api", "nope", *db]).exit_code == 2
    result = runner.invoke(app, ["exchanges", "fetch", "p1", *db])
    assert result.exit_code == 0 and f"{len(PARTNER)} signals applied" in result.output
    result = runner.invoke(app, ["exchanges", "status", "--json", *db])
    assert json.loads(result.output)[0]["fetched"] == len(PARTNER)


def test_upstream_file_exchange_cannot_append_which_is_why_vigil_subclasses_it(tmp_path: Path) -> None:
    """If this starts failing, threatexchange fixed report_opinion and the subclass can go."""
    path = tmp_path / "f.txt"
    path.write_text("pdq " + "a" * 64 + "\n")
    upstream = LocalFileSignalExchangeAPI(FileCollaborationConfig(name="x", filename=str(path)))
    opinion = state.SignalOpinion(True, state.SignalOpinionCategory.POSITIVE_CLASS, set())
    with pytest.raises(ValueError, match="exactly one of"):
        upstream.report_opinion(PdqSignal, "b" * 64, opinion)


def test_one_fetch_at_a_time_and_the_status_hma_clients_read(store: Store) -> None:
    """A second fetch while one runs is refused (it would apply the same deltas twice); a lock left
    by a killed process expires. The status has HMA's FetchStatus fields, and `up_to_date` says
    whether the last fetch reached the end of the exchange's data."""
    from datetime import timedelta

    from vigil.core.clock import utcnow
    from vigil.core.errors import Conflict
    from vigil.store.models import Exchange

    if "paged" not in EXCHANGE_APIS:
        EXCHANGE_APIS.add("paged", lambda: PagedExchange)
    sync.add_exchange(store, OPERATOR, "locked-x", "paged", {"pages": 3})

    def hold(since: object) -> None:
        with store.transaction() as tx:
            row = tx.scalar(select(Exchange).where(Exchange.name == "locked-x"))
            row.fetch_started_at = since

    hold(utcnow())
    with pytest.raises(Conflict, match="already running"):
        sync.fetch(store, OPERATOR, "locked-x")
    [status] = [r for r in sync.status(store) if r["name"] == "locked-x"]
    assert status["running_since"] is not None and status["last_success"] is None
    hold(utcnow() - timedelta(hours=7))  # its process died long ago
    first = sync.fetch(store, OPERATOR, "locked-x", max_deltas=1)
    [status] = [r for r in sync.status(store) if r["name"] == "locked-x"]
    assert first.deltas == 1 and status["running_since"] is None
    assert status["last_success"] is True and status["up_to_date"] is False  # stopped after a page
    sync.fetch(store, OPERATOR, "locked-x")
    [status] = [r for r in sync.status(store) if r["name"] == "locked-x"]
    assert status["up_to_date"] is True and status["fetched"] == 9
