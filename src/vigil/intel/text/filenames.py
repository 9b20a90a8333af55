"""Filename and search-query classifier: character n-grams survive the obfuscations uploaders use.

Real training data is held by police units; Vigil ships the training and evaluation path, not a model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigil.core.errors import VigilError
from vigil.intel.text.labelled import read_labelled_csv
from vigil.intel.text.linear import LinearTextModel, Metrics, metrics_at
from vigil.intel.text.normalize import normalize

NGRAMS = (2, 5)


@dataclass(frozen=True)
class FilenameVerdict:
    text: str
    score: float
    flagged: bool
    because: list[tuple[str, float]]


def train(
    path: Path, *, positive: str = "1", target_precision: float | None = None
) -> tuple[LinearTextModel, int]:
    data = read_labelled_csv(path, positive=positive)
    model = LinearTextModel.train(
        data.texts,
        data.labels,
        analyzer="char_wb",
        ngram_range=NGRAMS,
        positive=positive,
        target_precision=target_precision,
    )
    return model, len(data.problems)


def classify(model: LinearTextModel, texts: Sequence[str], explain: int = 5) -> list[FilenameVerdict]:
    scores = model.scores(texts)
    return [
        FilenameVerdict(t, float(s), bool(s >= model.threshold), model.explain(t, explain) if explain else [])
        for t, s in zip(texts, scores, strict=True)
    ]


def evaluate(model: LinearTextModel, path: Path) -> Metrics:
    data = read_labelled_csv(path, positive=model.positive)
    return metrics_at(model.scores(data.texts), np.asarray(data.labels, dtype=bool), model.threshold)


GENERIC_WORD_MIN = 3  # shorter tokens ("hd", "2") are not topic words


@dataclass(frozen=True)
class HeldOutWords:
    """Metrics on rows whose topic words the model never saw, beside the usual row-held-out ones."""

    rows: Metrics  # stratified row folds: every word of a test row may also occur in training
    words: Metrics  # word folds: no word of a test row's fold occurs in any training row (a row with
    # words in several folds is scored once per fold; threshold 0 = each fold's calibrated threshold)
    folds: int


def _words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if len(w) >= GENERIC_WORD_MIN and not w.isdigit()}


def evaluate_held_out_words(path: Path, *, positive: str = "1", folds: int = 5) -> HeldOutWords:
    """Cross-validation that holds out whole words: each word falls in one fold; a fold's test rows
    are those containing one of its words and its training rows those containing none. It shows how
    the model does on words (slang, new series names, other languages) absent from its training
    data, which row-level cross-validation hides because the same words recur across rows."""
    data = read_labelled_csv(path, positive=positive)
    labels = np.asarray(data.labels, dtype=bool)
    words = [_words(t) for t in data.texts]
    vocabulary = sorted(set().union(*words))
    fold_of = {w: int(hashlib.sha256(w.encode()).hexdigest(), 16) % folds for w in vocabulary}
    margins: list[np.ndarray] = []  # score minus that fold's calibrated threshold, per test row
    truths: list[np.ndarray] = []
    for fold in range(folds):
        test = np.array([any(fold_of[w] == fold for w in ws) for ws in words])
        train = ~test
        if not test.any() or labels[train].all() or not labels[train].any():
            continue
        model = LinearTextModel.train(
            [t for t, keep in zip(data.texts, train, strict=True) if keep],
            labels[train].tolist(),
            analyzer="char_wb",
            ngram_range=NGRAMS,
            positive=positive,
        )
        held = model.scores([t for t, keep in zip(data.texts, test, strict=True) if keep])
        margins.append(held - model.threshold)
        truths.append(labels[test])
    if not margins:
        raise VigilError("too few distinct words to hold any out (each fold needs both labels to train)")
    word_metrics = metrics_at(np.concatenate(margins), np.concatenate(truths), 0.0)
    rows = LinearTextModel.train(data.texts, data.labels, analyzer="char_wb", ngram_range=NGRAMS).info
    cv = rows["cross_validated"]
    row_metrics = Metrics(**{k: cv[k] for k in Metrics.__dataclass_fields__})
    return HeldOutWords(row_metrics, word_metrics, folds)
