"""Filename and search-query classifier: character n-grams survive the obfuscations uploaders use.

Real training data is held by police units; Vigil ships the training and evaluation path, not a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigil.intel.text.labelled import read_labelled_csv
from vigil.intel.text.linear import LinearTextModel, Metrics, metrics_at

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
