"""Grooming-risk engines on small hand-written, benign-worded conversations."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.core.errors import VigilError
from vigil.intel.chats.engines import CHAT_ENGINES, IndicatorEngine, ModelEngine, pan_metrics
from vigil.intel.chats.indicators import STAGES, Stage, chat_form, load_lexicon, stage_hits
from vigil.intel.chats.messages import Message, load_author_ids, load_chats
from vigil.interfaces.cli.main import app

CHATS = Path(__file__).parent / "data" / "chats"


@pytest.fixture()
def messages() -> list[Message]:
    loaded = load_chats(CHATS / "conversations.jsonl")
    assert not loaded.problems
    return loaded.messages


def test_indicator_engine_ranks_the_grooming_pattern_first(messages: list[Message]) -> None:
    risks = IndicatorEngine().score(messages, early_k=10)
    top = risks[0]
    assert top.author == "sunny_helper" and top.flagged
    assert set(top.stages) >= {
        "age_probing",
        "isolation",
        "secrecy",
        "gifts_payment",
        "platform_move",
        "image_request",
    }
    assert top.early_warning and top.warned_at is not None and top.warned_at <= 10
    driver_texts = [d.text for d in top.drivers]
    assert "this is our little secret ok, don't tell anyone we talk" in driver_texts
    assert all(d.reasons for d in top.drivers)
    others = {r.author: r for r in risks[1:]}
    assert not any(r.flagged for r in others.values())
    # Near misses in ordinary chat: "how old is your dog", "don't tell me the result", "i'm 10 minutes late".
    assert others["striker_9"].score == 0 and others["goalie_7"].score == 0
    assert 0 < others["dad_account"].score < IndicatorEngine().threshold


def test_early_warning_respects_k(messages: list[Message]) -> None:
    top = IndicatorEngine().score(messages, early_k=2)[0]
    assert top.warned_at is not None and top.warned_at > 2 and not top.early_warning


def test_contact_stating_a_minor_age_raises_risk(messages: list[Message]) -> None:
    without = [m for m in messages if m.text != "im 12, in 7th grade"]
    with_age = IndicatorEngine().score(messages)[0].score
    assert IndicatorEngine().score(without)[0].score < with_age


def test_without_stage_patterns_nothing_scores(messages: list[Message]) -> None:
    empty = tuple(Stage(s.name, s.weight, ()) for s in STAGES)
    assert all(r.score == 0 for r in IndicatorEngine(empty).score(messages))


def test_user_lexicon_adds_patterns(tmp_path: Path) -> None:
    lexicon = tmp_path / "lex.json"
    lexicon.write_text(json.dumps({"secrecy": [r"\bsag es niemandem\b"], "new_stage": [r"\bflugzeug\b"]}))
    stages = load_lexicon(lexicon)
    assert stage_hits("Sag es niemandem, ok?", stages) == {"secrecy": ["sag es niemandem"]}  # as folded
    assert "new_stage" in stage_hits("das flugzeug", stages)
    lexicon.write_text("{not json")
    with pytest.raises(VigilError):
        load_lexicon(lexicon)


def test_jsonl_loader_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text(
        '{"alias": "a", "text": "hi"}\nnot json\n{"text": "no alias"}\n{"author": "b", "text": "yo"}\n'
    )
    loaded = load_chats(path)
    assert [m.author for m in loaded.messages] == ["a", "b"]
    assert [p.where for p in loaded.problems] == ["chat.jsonl:2", "chat.jsonl:3"]


def test_pan2012_loader_and_metric() -> None:
    loaded = load_chats(CHATS / "pan_sample.xml")
    assert len(loaded.messages) == 6 and len(loaded.problems) == 1
    assert loaded.problems[0].reason == "message has no author"
    risks = IndicatorEngine().score(loaded.messages)
    assert risks[0].author == "aaa111" and risks[0].flagged
    flagged = {r.author for r in risks if r.flagged}
    m = pan_metrics(flagged, load_author_ids(CHATS / "pan_predators.txt"))
    assert (m.precision, m.recall, m.f05) == (1.0, 1.0, 1.0)


def test_pan_metric_weighs_precision_over_recall() -> None:
    truth = {"a", "b", "c", "d"}
    precise = pan_metrics({"a"}, truth)  # p=1, r=.25
    greedy = pan_metrics({"a", "b", "c", "d", "e", "f", "g", "h"}, truth)  # p=.5, r=1
    assert precise.f05 == pytest.approx(1.25 * 0.25 / (0.25 + 0.25))
    assert greedy.f05 == pytest.approx(1.25 * 0.5 / (0.125 + 1))


def test_malformed_pan_xml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<conversations><conversation id='1'><message>")
    with pytest.raises(VigilError, match="not well-formed"):
        load_chats(bad)


RISKY = [
    "how old are you",
    "are you alone",
    "don't tell anyone",
    "our secret",
    "add me on kik",
    "i can buy you",
    "send me a selfie",
    "where do you live",
    "delete this chat",
    "what grade are you in",
]
NEUTRAL = [
    "the match was great",
    "homework is due friday",
    "what game are you playing",
    "see you at practice",
    "my cat is asleep",
    "pizza or pasta",
    "the bus was late",
    "new album is out",
    "weekend plans?",
    "lol",
]
FILLER = ["ok", "cool", "haha", "nice", "really?", "sure", "yeah", "hmm", "wow", "right"]


def _corpus(seed: int, authors: int) -> tuple[list[Message], set[str]]:
    rng = random.Random(seed)
    out, positives = [], set()
    for i in range(authors):
        risky = i % 4 == 0
        name = f"u{seed}-{i}"
        if risky:
            positives.add(name)
        pool = RISKY if risky else NEUTRAL
        for k in range(12):
            text = rng.choice(pool) if rng.random() < 0.5 else rng.choice(FILLER + NEUTRAL)
            out.append(Message(f"conv{i}", name, str(k), text))
    return out, positives


def test_model_engine_trains_and_scores_held_out_authors(tmp_path: Path) -> None:
    train, train_pos = _corpus(1, 80)
    test, test_pos = _corpus(2, 80)
    engine = ModelEngine.train(train, train_pos)
    risks = engine.score(test)
    m = pan_metrics({r.author for r in risks if r.flagged}, test_pos)
    assert m.f05 >= 0.9, m
    top = risks[0]
    assert top.author in test_pos and top.drivers and top.warned_at is not None
    path = tmp_path / "chat-model.json"
    engine.model.save(path)
    again = CHAT_ENGINES.get("model")(path).score(test)
    assert [r.author for r in again][:5] == [r.author for r in risks][:5]


def test_cli_score_and_eval(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["text", "chats", "score", str(CHATS / "conversations.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["author"] == "sunny_helper" and rows[0]["flagged"]
    result = runner.invoke(
        app, ["text", "chats", "eval", str(CHATS / "pan_sample.xml"), str(CHATS / "pan_predators.txt")]
    )
    assert result.exit_code == 0 and "F0.5 1.000" in result.output
    result = runner.invoke(
        app, ["text", "chats", "score", str(CHATS / "pan_sample.xml"), "--engine", "model"]
    )
    assert result.exit_code == 2 and "needs --model" in result.output


@pytest.mark.parametrize(
    "disguised",
    [
        "d0nt t3ll any0ne",
        "don\u200bt tell any\u00adone",
        "DON'T TELL ANYONE",
        "\u24d3\u24de\u24dd\u24e3 tell anyone",
        "dont t\u0435ll \u0430nyone",  # Cyrillic ie and a inside Latin words
    ],
)
def test_chat_phrases_are_found_through_leet_and_unicode_tricks(disguised: str) -> None:
    assert "secrecy" in stage_hits(disguised)


def test_a_bare_age_stays_a_number() -> None:
    assert chat_form("13") == "13" and chat_form("h3llo 14 yo") == "hello 14 yo"
