"""Filename/query classifier: normalisation, the training and evaluation path, explanations, model files.

Labels are two neutral topics (gardening = positive, cooking = negative). They prove the machinery works
and that normalisation undoes obfuscation; they say nothing about accuracy on real police data.
"""

from __future__ import annotations

import csv
import json
import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vigil.core.errors import VigilError
from vigil.intel.text import filenames as fn
from vigil.intel.text.linear import LinearTextModel, metrics_at
from vigil.intel.text.normalize import normalize
from vigil.interfaces.cli.main import app

GARDEN = [
    "rose",
    "tulip",
    "compost",
    "seedling",
    "pruning",
    "greenhouse",
    "orchard",
    "hedge",
    "lawn",
    "bulbs",
]
COOKING = [
    "pasta",
    "risotto",
    "sourdough",
    "omelette",
    "curry",
    "pancake",
    "lasagne",
    "dumpling",
    "broth",
    "tart",
]
EXTRA = ["tips", "guide", "2019", "final", "hd", "part2", "video", "collection", "new", "best"]


def _names(rng: random.Random, words: list[str], n: int) -> list[str]:
    out = []
    for _ in range(n):
        parts = rng.sample(words, 2) + rng.sample(EXTRA, rng.randint(0, 2))
        rng.shuffle(parts)
        out.append(
            rng.choice(["_", "-", " ", "."]).join(parts) + rng.choice([".avi", ".mp4", ".zip", ".jpg", ""])
        )
    return out


LEET = str.maketrans({"o": "0", "e": "3", "a": "4", "s": "5", "i": "1"})


def obfuscate(name: str, rng: random.Random) -> str:
    """What uploaders do: leetspeak inside words, letters split by dots, stretched vowels."""
    words = name.replace("_", " ").replace("-", " ").split(" ")
    out = []
    for w in words:
        trick = rng.randrange(3)
        if trick == 0 and len(w) > 2:
            out.append(w[0] + w[1:-1].translate(LEET) + w[-1])
        elif trick == 1:
            out.append(".".join(w))
        else:
            out.append("".join(c * 4 if c in "aeiou" else c for c in w))
    return "_".join(out)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    rng = random.Random(7)
    root = tmp_path_factory.mktemp("filenames")
    train = [(n, "garden") for n in _names(rng, GARDEN, 150)] + [
        (n, "kitchen") for n in _names(rng, COOKING, 150)
    ]
    test = [(obfuscate(n, rng), "garden") for n in _names(rng, GARDEN, 100)]
    test += [(obfuscate(n, rng), "kitchen") for n in _names(rng, COOKING, 100)]
    paths = {}
    for name, rows in (("train", train), ("test", test)):
        path = root / f"{name}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
            if name == "train":
                writer.writerow(["", "garden"])  # malformed: no text
        paths[name] = path
    return paths


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("S.e.c.r.e.t_Garden-Tour.avi", "secret garden tour avi"),
        ("s3cr3t gaaaarden", "secret gaarden"),
        ("Crème_Brûlée", "creme brulee"),
        ("b!rd w@tch", "bird watch"),
        ("HolidayPhotos", "holiday photos"),
        ("kids 2019 12yo", "kids 2019 12yo"),  # digits outside words stay digits
    ],
)
def test_normalize_undoes_obfuscation(raw: str, clean: str) -> None:
    assert normalize(raw) == clean


def test_train_and_evaluate_on_obfuscated_names(corpus: dict[str, Path]) -> None:
    model, skipped = fn.train(corpus["train"], positive="garden")
    assert skipped == 1
    assert 0.0 < model.threshold < 1.0
    metrics = fn.evaluate(model, corpus["test"])
    assert metrics.positives == 100 and metrics.negatives == 100
    assert metrics.precision >= 0.95 and metrics.recall >= 0.9, metrics


def test_normalisation_is_what_makes_obfuscated_names_match(corpus: dict[str, Path]) -> None:
    from vigil.intel.text.labelled import read_labelled_csv

    train = read_labelled_csv(corpus["train"], positive="garden")
    test = read_labelled_csv(corpus["test"], positive="garden")
    labels = np.asarray(test.labels)
    f1 = {}
    for normalized in (True, False):
        m = LinearTextModel.train(train.texts, train.labels, normalized=normalized, positive="garden")
        f1[normalized] = metrics_at(m.scores(test.texts), labels, m.threshold).f1
    assert f1[True] > f1[False] + 0.1, f1


def test_explanations_name_the_ngrams_that_raised_the_score(corpus: dict[str, Path]) -> None:
    model, _ = fn.train(corpus["train"], positive="garden")
    [verdict] = fn.classify(model, ["gr33nh0us3_t.u.l.i.p.mp4"])
    assert verdict.flagged
    grams = [g for g, w in verdict.because]
    assert grams and all(w > 0 for _, w in verdict.because)
    assert all(g.strip() in normalize("greenhouse tulip mp4") for g in grams)
    assert any(g.strip() in ("greenhouse", "tulip") or len(g.strip()) >= 3 for g in grams)


def test_target_precision_raises_the_threshold(corpus: dict[str, Path]) -> None:
    rng = random.Random(3)
    noisy = [(n, "garden" if rng.random() < 0.8 else "kitchen") for n in _names(rng, GARDEN, 80)]
    noisy += [(n, "kitchen") for n in _names(rng, COOKING, 80)]
    texts, labels = [t for t, _ in noisy], [lab == "garden" for _, lab in noisy]
    loose = LinearTextModel.train(texts, labels)
    strict = LinearTextModel.train(texts, labels, target_precision=0.99)
    assert strict.threshold >= loose.threshold


def test_model_file_round_trip_and_rejects_other_files(corpus: dict[str, Path], tmp_path: Path) -> None:
    model, _ = fn.train(corpus["train"], positive="garden")
    path = tmp_path / "m.json"
    model.save(path)
    again = LinearTextModel.load(path)
    names = ["rose_guide.avi", "pasta-tips", "c0mp0st"]
    assert np.allclose(model.scores(names), again.scores(names))
    assert again.threshold == model.threshold and again.positive == "garden"
    data = json.loads(path.read_text())
    data["weights"] = data["weights"][:-1]
    path.write_text(json.dumps(data))
    with pytest.raises(VigilError, match="differ in length"):
        LinearTextModel.load(path)
    (tmp_path / "pickle.bin").write_bytes(b"\x80\x04\x95")
    with pytest.raises(VigilError):
        LinearTextModel.load(tmp_path / "pickle.bin")


def test_training_needs_both_labels() -> None:
    with pytest.raises(VigilError, match="both labels"):
        LinearTextModel.train(["a", "b"], [True, True])


def test_cli_train_eval_classify(corpus: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    model = tmp_path / "names.json"
    result = runner.invoke(
        app,
        ["text", "filenames", "train", str(corpus["train"]), "--model", str(model), "--positive", "garden"],
    )
    assert result.exit_code == 0, result.output
    assert "1 rows skipped" in result.output
    result = runner.invoke(app, ["text", "filenames", "eval", str(corpus["test"]), "--model", str(model)])
    assert result.exit_code == 0 and "precision" in result.output
    result = runner.invoke(
        app,
        [
            "text",
            "filenames",
            "classify",
            "--model",
            str(model),
            "--json",
            "t.u.l.i.p_bulbs",
            "risotto_final",
        ],
    )
    assert result.exit_code == 0, result.output
    verdicts = json.loads(result.output)
    assert [v["flagged"] for v in verdicts] == [True, False]


_CYRILLIC_NAMES = {
    "a": "A",
    "e": "IE",
    "o": "O",
    "p": "ER",
    "c": "ES",
    "x": "HA",
    "y": "U",
    "i": "BYELORUSSIAN-UKRAINIAN I",
    "s": "DZE",
    "j": "JE",
    "h": "SHHA",
}
CYRILLIC = str.maketrans(
    {k: unicodedata.lookup(f"CYRILLIC SMALL LETTER {v}") for k, v in _CYRILLIC_NAMES.items()}
)


def _small_capital(c: str) -> str:
    try:
        return unicodedata.lookup(f"LATIN LETTER SMALL CAPITAL {c.upper()}")
    except KeyError:
        return c


UNICODE_TRICKS = {
    "zero-width space": lambda w: "\u200b".join(w),
    "zero-width joiner": lambda w: w[:2] + "\u200d" + w[2:],
    "soft hyphen": lambda w: "\u00ad".join(w),
    "cyrillic look-alikes": lambda w: w.translate(CYRILLIC),
    "circled letters": lambda w: "".join(chr(0x24D0 + ord(c) - 97) for c in w),
    "negative squared letters": lambda w: "".join(chr(0x1F170 + ord(c) - 97) for c in w),
    "fullwidth letters": lambda w: "".join(chr(0xFF41 + ord(c) - 97) for c in w),
    "small capitals": lambda w: "".join(_small_capital(c) for c in w),
    "bold mathematical": lambda w: "".join(chr(0x1D41A + ord(c) - 97) for c in w),
}


@pytest.mark.parametrize("trick", sorted(UNICODE_TRICKS))
def test_every_term_survives_every_unicode_trick(trick: str) -> None:
    for word in GARDEN + COOKING:
        disguised = UNICODE_TRICKS[trick](word)
        assert disguised != word
        assert normalize(f"{disguised}_tips.avi") == f"{word} tips avi", (trick, disguised)


def test_unicode_tricks_turn_a_blind_model_back_into_a_seeing_one(corpus: dict[str, Path]) -> None:
    model, _ = fn.train(corpus["train"], positive="garden")
    for trick, disguise in UNICODE_TRICKS.items():
        names = [f"{disguise(w)}_{disguise(e)}" for w in GARDEN for e in ("guide", "video")]
        flagged = sum(v.flagged for v in fn.classify(model, names, explain=0))
        assert flagged / len(names) >= 0.9, trick


def test_letter_spaced_runs_keep_their_word_boundaries() -> None:
    assert normalize("s.e.c.r.e.t g.a.r.d.e.n") == "secret garden"
    assert normalize("s-e-c-r-e-t_g.a.r.d.e.n") == "secret garden"


def test_genuine_words_of_other_scripts_are_left_alone() -> None:
    assert normalize("привет мир") == "привет мир"
    assert normalize("καλημέρα") == "καλημερα"
    assert normalize("Straße") == "strasse"


def test_held_out_words_are_reported_beside_held_out_rows(corpus: dict[str, Path]) -> None:
    """Honest evaluation: with whole words held out, the topic words themselves are unseen, and a
    character n-gram model cannot know that "orchard" is about gardens. The word folds say so."""
    result = fn.evaluate_held_out_words(corpus["train"], positive="garden")
    assert result.rows.f1 > 0.95
    assert result.words.positives + result.words.negatives >= 300  # every row is scored at least once
    assert result.words.recall < result.rows.recall  # an unseen word in a name costs recall
