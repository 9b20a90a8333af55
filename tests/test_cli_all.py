"""Every `vigil` command runs at least once, and every command that changes state audits its actor.

The command tree is read from the app itself, so a new command without a run here fails the last
assertion. Servers (`serve`, `stop-page`) run as real subprocesses on loopback.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from tests.conftest import ServerThread, bsds_images, key_holder
from tests.test_chats import _corpus
from tests.test_text import COOKING, GARDEN, _names
from typer.testing import CliRunner

from vigil.core import cybertipline
from vigil.interfaces.cli.main import app
from vigil.review import domain as review
from vigil.review.evidence import Vault
from vigil.store import audit
from vigil.store.db import Store
from vigil.testing.fake_clearinghouse import create_fake
from vigil.testing.labweb import LabServer
from vigil.testing.synth.finance import generate
from vigil.testing.synth.triage import generate_reports

ALICE, BOB = "operator:alice", "operator:bob"


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Leaf command paths of a Click group (Typer vendors Click, so groups are found by duck typing)."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


ALL_COMMANDS = set(command_paths(typer.main.get_command(app)))


class Cli:
    """Runs commands in-process and remembers which command paths ran."""

    def __init__(self, db: str) -> None:
        self.db, self.ran = db, set[tuple[str, ...]]()
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, db: bool = True) -> str:
        argv = [*args, *(["--db", self.db] if db else [])]
        result = self.runner.invoke(app, argv)
        assert result.exit_code == code, f"{argv}: {result.output}"
        path = next(tuple(args[:n]) for n in range(len(args), 0, -1) if tuple(args[:n]) in ALL_COMMANDS)
        self.ran.add(path)
        return result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def served(argv: list[str], url: str, cwd: Path) -> httpx.Response:
    """Start a server command as a subprocess, fetch one URL from it, stop it."""
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                return httpx.get(url, timeout=5)
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.stderr.read().decode() if process.stderr else "") from None
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_every_command_runs_and_writing_commands_audit_their_actor(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(store.url)
    images = bsds_images()
    known, uploads = tmp_path / "known", tmp_path / "uploads"
    known.mkdir()
    uploads.mkdir()
    for path in images[:3]:
        shutil.copy(path, known / path.name)
    for path in images[:2] + images[10:12]:
        shutil.copy(path, uploads / path.name)

    # keys
    reviewer_key = cli("keys", "create", "rita", "--role", "reviewer", "--actor", "alice").strip()
    assert reviewer_key.startswith("vgl_")
    cli("keys", "create", "temp", "--role", "submitter", "--actor", "alice")
    cli("keys", "revoke", "temp", "--actor", "bob")
    cli("keys", "create", "tool", "--role", "submitter", "--actor", "alice")
    assert cli("keys", "rotate", "tool", "--actor", "alice").strip().startswith("vgl_")
    assert "rita" in cli("keys", "list")

    # lists
    assert "12 rows read" in cli("lists", "add-files", str(known), "--name", "known", "--actor", "alice")
    partner = tmp_path / "partner.csv"
    partner.write_text("hash_type,value,category\nmd5," + "a" * 32 + ",1\nmd5,zz,1\n")
    assert "1 rejected" in cli("lists", "import", str(partner), "--name", "partner", "--actor", "bob")
    cli(
        "lists",
        "export",
        "known",
        "--out",
        str(tmp_path / "known.json"),
        "--format",
        "vics",
        "--actor",
        "bob",
    )
    assert json.loads(cli("lists", "stats", "--json"))[0]["entries"] == 12
    assert json.loads(cli("hash", str(images[0]), "--json", db=False))["pdq_quality"] > 50

    # scan, report, review queue, transparency
    scan_out = cli(
        "scan", str(uploads), "--review-votes", "0", "--report-dir", str(tmp_path / "r"), "--actor", "alice"
    )
    assert scan_out.count("match ") == 2
    cli("report", "1", "--out", str(tmp_path / "r2"))
    assert "2 items queued" in cli("review", "enqueue", "1", "--actor", "bob")
    assert "intact" in cli("audit", "verify")
    _reports(cli, store, tmp_path, monkeypatch)
    monkeypatch.setenv("VIGIL_AUDIT_ANCHOR", str(tmp_path / "anchor" / "audit.jsonl"))
    assert "checkpoint: seq" in cli("audit", "checkpoint")
    assert "intact" in cli("audit", "verify")
    assert "0 jobs run" in cli("worker", "--once")
    cli("audit", "transparency", "--out", str(tmp_path / "t.json"), "--actor", "alice")
    assert json.loads(cli("models", "report", "--enforce", "--actor", "alice")) == {}

    # blocking and search warnings
    cli("blocklist", "add", "bad-site.example", "--source", "hotline", "--actor", "alice")
    cli("blocklist", "review", "1", "--actor", "bob")
    assert "approved" in cli("blocklist", "list")
    cli("blocklist", "export", "--out", str(tmp_path / "z.rpz"), "--actor", "alice")
    terms = Path(__file__).parent / "data" / "standin_terms.tsv"
    assert '"matched": []' in cli(
        "search-warning", "check", "weather tomorrow", "--terms", str(terms), db=False
    )
    benign = Path(__file__).parent / "data" / "benign_queries.txt"
    assert "benign queries flagged: 0.0000" in cli(
        "search-warning", "evaluate", "--terms", str(terms), "--benign", str(benign), db=False
    )

    # text intelligence
    rng = random.Random(3)
    labelled = tmp_path / "names.csv"
    with labelled.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows([(n, "garden") for n in _names(rng, GARDEN, 60)])
        writer.writerows([(n, "kitchen") for n in _names(rng, COOKING, 60)])
    model = tmp_path / "names.json"
    cli("text", "filenames", "train", str(labelled), "--model", str(model), "--positive", "garden", db=False)
    assert "precision" in cli("text", "filenames", "eval", str(labelled), "--model", str(model), db=False)
    held_out = cli("text", "filenames", "holdout", str(labelled), "--positive", "garden", db=False)
    assert "words (5 folds)" in held_out
    assert "review" in cli(
        "text", "filenames", "classify", "--model", str(model), "rose_garden_tour", db=False
    )
    messages, predators = _corpus(1, 40)
    chats = tmp_path / "chats.jsonl"
    chats.write_text("".join(json.dumps(m.__dict__) + "\n" for m in messages))
    truth = tmp_path / "predators.txt"
    truth.write_text("\n".join(sorted(predators)))
    chat_model = tmp_path / "chats-model.json"
    cli("text", "chats", "train", str(chats), str(truth), "--model", str(chat_model), db=False)
    assert "F0.5" in cli(
        "text",
        "chats",
        "eval",
        str(chats),
        str(truth),
        "--engine",
        "model",
        "--model",
        str(chat_model),
        db=False,
    )
    cli(
        "text",
        "chats",
        "score",
        str(Path(__file__).parent / "data" / "chats" / "conversations.jsonl"),
        db=False,
    )

    # payment indicators
    ledger = tmp_path / "ledger.csv"
    from vigil.intel.finance.ledger import write_ledger

    write_ledger(ledger, generate(3000, 4, seed=1).transactions)
    assert "4 at or above" in cli("finance", "scan", str(ledger), db=False)
    cli("finance", "rules", db=False)

    # triage and P2P
    synthetic = generate_reports(60, 2)
    bundles = tmp_path / "bundles.jsonl"
    bundles.write_text("".join(json.dumps(b) + "\n" for b in synthetic.bundles))
    cli("triage", "import", str(bundles), "--actor", "alice")
    cli("triage", "run", "--top", "3", "--csv", str(tmp_path / "queue.csv"), "--actor", "alice")
    case_id = next(csv.DictReader((tmp_path / "queue.csv").open()))["case"]
    cli("triage", "case", case_id, "--out", str(tmp_path / "case.html"), "--actor", "alice")
    cli("triage", "close", case_id, "--reason", "handed over", "--actor", "bob")
    assert "rows written" in cli("triage", "feedback", "--period", "year", "--out", str(tmp_path / "fb.csv"))
    from vigil.testing.synth.p2p import write_observations

    p2p = write_observations(tmp_path / "obs.csv", 3000, seed=2)
    cli("lists", "import", str(_p2p_list(tmp_path, p2p)), "--name", "p2p", "--actor", "alice")
    cli("p2p", "rank", str(tmp_path / "obs.csv"), "--export", str(tmp_path / "top.jsonl"), "--actor", "bob")
    with monkeypatch.context() as config:  # only here: the data key's default place follows it too
        config.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        columns = "time=timestamp,ip=ip,port=port,client_id=client_id,infohash=infohash"
        assert "saved" in cli("p2p", "profile", "save", "mine", "--columns", columns, db=False)
        assert '"client_id": "client_id"' in cli("p2p", "profile", "show", "mine", db=False)

    # exchanges
    feed = tmp_path / "feed.txt"
    feed.write_text(f"pdq {'f' * 64}\n")
    cli(
        "exchanges",
        "add",
        "feed",
        "--api",
        "file",
        "--config",
        json.dumps({"filename": str(feed)}),
        "--actor",
        "alice",
    )
    cli("exchanges", "fetch", "feed", "--actor", "bob")
    outbox = tmp_path / "outbox.txt"
    outbox.write_text("")
    cli(
        "exchanges",
        "add",
        "out",
        "--api",
        "file",
        "--config",
        json.dumps({"filename": str(outbox)}),
        "--share",
        "--actor",
        "alice",
    )
    assert "1 signals shared" in cli("exchanges", "share", "out", "--actor", "bob")  # the confirmed item
    assert "feed" in cli("exchanges", "status")

    # crawl, takedown and sites against the lab web on loopback
    with LabServer(images[:60], pages_per_site=60) as lab:
        resolve = [arg for h, t in lab.resolve.items() for arg in ("--resolve", f"{h}={t}")]
        lab_known = tmp_path / "lab-known"
        lab_known.mkdir()
        for i in lab.lab.known:
            shutil.copy(images[i], lab_known / images[i].name)
        cli("lists", "add-files", str(lab_known), "--name", "lab", "--actor", "alice")
        cli(
            "crawl",
            "run",
            lab.seeds()[0],
            "--scope",
            "host",
            "--max-pages",
            "20",
            "--delay",
            "0",
            "--resolve-only",
            *resolve,
            "--actor",
            "carol",
        )
        cli("crawl", "resume", "1", "--actor", "carol")
        hits = json.loads(cli("crawl", "hits", "1"))
        assert hits
        vault = [
            "--evidence-dir",
            str(tmp_path / "vault"),
            "--key-file",
            str(tmp_path / "keys" / "vault.key"),
        ]
        assert "review items queued" in cli("crawl", "queue", "1", *vault, "--actor", "carol")
        contacts = tmp_path / "contacts.csv"
        contacts.write_text("domain,contact\nlab-one.com,abuse@lab-one.com\n")
        ip2asn, abuse, hotlines = tmp_path / "ip2asn.tsv", tmp_path / "abuse.csv", tmp_path / "hotlines.csv"
        ip2asn.write_text("127.0.0.0\t127.255.255.255\t64500\tNL\tLAB-HOSTING Lab Hosting B.V.\n")
        abuse.write_text("asn,abuse\n64500,abuse@lab-hosting.test\n")
        hotlines.write_text("country,name,contact\nNL,Lab Hotline,reports@hotline.test\n")
        desk = ["--ip2asn", str(ip2asn), "--abuse", str(abuse), *resolve]
        opened = cli(
            "takedown",
            "open",
            "--url",
            hits[0]["image"],
            "--contacts",
            str(contacts),
            *desk,
            "--actor",
            "bob",
        )
        assert "site abuse@lab-one.com" in opened and "hosting abuse@lab-hosting.test" in opened
        assert "2 notices sent" in cli(
            "takedown", "send", "--outbox", str(tmp_path / "mail"), "--actor", "bob"
        )
        assert "still present" in cli("takedown", "recheck", *resolve, "--actor", "bob")
        later = ["--now", "2099-01-01T00:00:00", "--hotlines", str(hotlines)]
        assert "1 referred to hotlines" in cli("takedown", "escalate", *later, "--actor", "bob")
        ran = cli(
            "takedown", "run", "--rounds", "1", "--every", "0", "--outbox", str(tmp_path / "mail"), *resolve
        )
        assert "referred to hotlines 0, sent 1" in ran  # the referral goes out; reminders not due yet
        assert "open 3" in cli("takedown", "stats")
        refused = cli("takedown", "confirm", "1", "--removed", "--actor", "bob", code=2)
        assert "not a removal candidate" in refused  # only a candidate takes a verdict
    with LabServer(images[:10], sites=True) as sites:
        resolve = [arg for h, t in sites.resolve.items() for arg in ("--resolve", f"{h}={t}")]
        ranked = cli(
            "sites",
            "rank",
            "http://www.sunny-meadow.com/",
            "http://www.sunny-meadow.xyz/",
            *resolve,
            "--json",
            db=False,
        )
        assert json.loads(ranked)[0]["domain"] == "sunny-meadow.xyz"
    assert "sunny-meadow.xyz" in cli("sites", "candidates", "sunny-meadow.com", db=False).split()

    # the two servers, as real processes on loopback
    vigil = [sys.executable, "-m", "vigil.interfaces.cli.main"]
    port = free_port()
    response = served(
        [
            *vigil,
            "serve",
            "--port",
            str(port),
            "--db",
            store.url,
            "--evidence-dir",
            str(tmp_path / "served-vault"),
            "--key-file",
            str(tmp_path / "keys" / "served.key"),
        ],
        f"http://127.0.0.1:{port}/status",
        tmp_path,
    )
    assert response.text == "I-AM-ALIVE"
    cli.ran.add(("serve",))
    port = free_port()
    response = served(
        [*vigil, "stop-page", "--host", "127.0.0.1", "--port", str(port)],
        f"http://127.0.0.1:{port}/",
        tmp_path,
    )
    assert response.status_code == 451
    cli.ran.add(("stop-page",))

    # last, so the weak tier it opens cannot change what the steps above matched
    benign = tmp_path / "benign"
    benign.mkdir()
    for path in images[100:150]:
        shutil.copy(path, benign / path.name)
    calibrated = cli("lists", "calibrate", "known", str(benign), "--actor", "alice")
    assert "50 images (0 skipped)" in calibrated and "calibration images matched there: 0" in calibrated

    assert cli.ran == ALL_COMMANDS, f"commands never run here: {sorted(ALL_COMMANDS - cli.ran)}"
    events = {(e.actor, e.action) for e in audit.events(store)}
    expected = {
        (ALICE, "key.create"),
        (BOB, "key.revoke"),
        (ALICE, "list.add_files"),
        (BOB, "list.import"),
        (BOB, "list.export"),
        (ALICE, "scan.start"),
        (ALICE, "scan.done"),
        (BOB, "review.enqueue"),
        (ALICE, "transparency.export"),
        (ALICE, "blocklist.add"),
        (BOB, "blocklist.approved"),
        (ALICE, "blocklist.export"),
        (ALICE, "triage.import"),
        (ALICE, "triage.run"),
        (BOB, "triage.case_closed"),
        (BOB, "p2p.export"),
        (ALICE, "exchange.add"),
        (BOB, "exchange.fetch"),
        (BOB, "list.exchange_fetch"),
        ("operator:carol", "crawl.start"),
        ("operator:carol", "crawl.paused"),
        ("operator:carol", "review.enqueue"),
        (BOB, "takedown.open"),
        (BOB, "takedown.sent"),
        (ALICE, "key.rotate"),
        (ALICE, "report.draft"),
        (ALICE, "report.submit"),
        (ALICE, "evidence.release_hold"),
        (ALICE, "evidence.place_hold"),
        (ALICE, "list.calibrate"),
    }
    assert expected <= events, sorted(expected - events)


def _reports(cli: Cli, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two reviewers confirm scan item 1 (through the domain: votes come from keys), then the CLI
    drafts, lists, shows and submits its report to a fake clearinghouse."""
    vault_dir, key_file = tmp_path / "vault", tmp_path / "keys" / "vault.key"
    vault = Vault.open(vault_dir, key_file)
    for name in ("rita2", "rita3"):
        reviewer = key_holder(store, name, "reviewer")[1]
        review.vote(store, reviewer, 1, "confirm", "ncmec", "A2", None, vault.preserve)
    assert "validated" in cli("reports", "draft", "1", "--xml", str(tmp_path / "r.xml"), "--actor", "alice")
    assert cybertipline.problems((tmp_path / "r.xml").read_text(), "report") == []
    assert "validated" in cli("reports", "list")
    assert (
        json.loads(cli("reports", "show", "1", "--json"))["files"][0]["industryClassification"]["value"]
        == "A2"
    )
    fake_app, state = create_fake("esp", "pw")
    with ServerThread(fake_app) as server:
        for name, value in (("URL", server.url), ("USER", "esp"), ("PASSWORD", "pw")):
            monkeypatch.setenv(f"VIGIL_CLEARINGHOUSE_{name}", value)
        vault_options = ["--evidence-dir", str(vault_dir), "--key-file", str(key_file)]
        assert "finished" in cli("reports", "submit", "1", *vault_options, "--actor", "alice")
    assert state.calls == ["submit", "upload", "fileinfo", "finish"]
    assert "verifies" in cli("evidence", "list", "--actor", "alice")
    reason = ["--reason", "case closed, ref 114", *vault_options, "--actor", "alice"]
    assert "hold released" in cli("evidence", "release", "1", *reason)
    assert "held" in cli("evidence", "hold", "1", *reason)
    shown = json.loads(cli("evidence", "show", "1", "--json", "--actor", "alice"))
    assert [s["action"] for s in shown["custody"]] == [
        "preserved",
        "accessed",
        "hold_released",
        "hold_placed",
    ]
    assert shown["evidence"]["legal_hold"] is True and shown["evidence"]["problem"] is None


def _p2p_list(folder: Path, data: object) -> Path:
    path = folder / "p2p-known.csv"
    path.write_text(
        "hash_type,hash\n"
        + "".join(f"btih,{h}\n" for h in data.known_btih)  # type: ignore[attr-defined]
        + "".join(f"sha1,{h}\n" for h in data.known_sha1)  # type: ignore[attr-defined]
    )
    return path


@pytest.mark.parametrize("path", sorted(ALL_COMMANDS), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help, f"`vigil {' '.join(path)}` has no description"
