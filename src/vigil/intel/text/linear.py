"""A TF-IDF n-gram + logistic-regression text model whose every score can be explained.

Linear weights keep explanations exact (each n-gram's share of the score is weight x tf-idf), which a
reviewer can check. Models are saved as plain JSON data, not pickles, so a model file shared between
units cannot run code when loaded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from vigil.core.errors import VigilError
from vigil.intel.text.normalize import normalize

FORMAT = "vigil-linear-text-model/1"


@dataclass(frozen=True)
class Metrics:
    threshold: float
    precision: float
    recall: float
    f1: float
    positives: int
    negatives: int

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def metrics_at(scores: np.ndarray, labels: np.ndarray, threshold: float, beta: float = 1.0) -> Metrics:
    predicted = scores >= threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    b2 = beta * beta
    f = (1 + b2) * precision * recall / (b2 * precision + recall) if precision + recall else 0.0
    return Metrics(threshold, precision, recall, f, int(labels.sum()), int((~labels).sum()))


def choose_threshold(scores: np.ndarray, labels: np.ndarray, target_precision: float | None) -> float:
    """Best-F1 threshold on held-out scores, or the lowest one reaching the target precision."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    precision, recall = precision[:-1], recall[:-1]
    if target_precision is not None:
        reaching = np.flatnonzero(precision >= target_precision)
        if len(reaching):
            return float(thresholds[reaching[0]])
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    return float(thresholds[int(np.argmax(f1))])


@dataclass
class LinearTextModel:
    """Vectoriser + weights + calibrated threshold; `scores` are probabilities of the positive label."""

    vectorizer: TfidfVectorizer
    weights: np.ndarray
    bias: float
    threshold: float
    positive: str
    normalized: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[bool],
        *,
        analyzer: str = "char_wb",
        ngram_range: tuple[int, int] = (2, 5),
        positive: str = "1",
        normalized: bool = True,
        target_precision: float | None = None,
        folds: int = 5,
    ) -> LinearTextModel:
        y = np.asarray(labels, dtype=bool)
        if y.all() or not y.any():
            raise VigilError("training needs examples of both labels")
        prepared = [normalize(t) for t in texts] if normalized else list(texts)
        vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True, min_df=1)
        x = vectorizer.fit_transform(prepared)
        classifier = LogisticRegression(class_weight="balanced", max_iter=2000, C=4.0)
        splits = min(folds, int(y.sum()), int((~y).sum()))
        if splits >= 2:
            held_out = cross_val_predict(
                classifier,
                x,
                y,
                cv=StratifiedKFold(splits, shuffle=True, random_state=0),
                method="predict_proba",
            )[:, 1]
            threshold = choose_threshold(held_out, y, target_precision)
            cv = metrics_at(held_out, y, threshold).as_dict()
        else:
            threshold, cv = 0.5, {}
        classifier.fit(x, y)
        info = {
            "analyzer": analyzer,
            "ngram_range": list(ngram_range),
            "trained_on": len(y),
            "cross_validated": cv,
        }
        return cls(
            vectorizer,
            classifier.coef_[0].copy(),
            float(classifier.intercept_[0]),
            threshold,
            positive,
            normalized,
            info,
        )

    def _matrix(self, texts: Sequence[str]) -> csr_matrix:
        prepared = [normalize(t) for t in texts] if self.normalized else list(texts)
        return csr_matrix(self.vectorizer.transform(prepared))

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        logits = self._matrix(texts) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-logits)))

    def explain(self, text: str, top: int = 5) -> list[tuple[str, float]]:
        """The n-grams that pushed this text's score up most, with their share of the logit."""
        row = self._matrix([text])
        names = self.vectorizer.get_feature_names_out()
        contributions = [
            (str(names[j]), float(v * self.weights[j])) for j, v in zip(row.indices, row.data, strict=True)
        ]
        contributions.sort(key=lambda item: -item[1])
        return [c for c in contributions[:top] if c[1] > 0]

    def save(self, path: Path) -> None:
        data = {
            "format": FORMAT,
            "positive": self.positive,
            "normalized": self.normalized,
            "threshold": self.threshold,
            "bias": self.bias,
            "params": {
                k: self.vectorizer.get_params()[k] for k in ("analyzer", "ngram_range", "sublinear_tf")
            },
            "vocabulary": {k: int(v) for k, v in self.vectorizer.vocabulary_.items()},
            "idf": self.vectorizer.idf_.tolist(),
            "weights": self.weights.tolist(),
            "info": self.info,
        }
        path.write_text(json.dumps(data))

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            params = data["params"]
            vectorizer = TfidfVectorizer(
                analyzer=params["analyzer"],
                ngram_range=tuple(params["ngram_range"]),
                sublinear_tf=params["sublinear_tf"],
                vocabulary=data["vocabulary"],
            )
            vectorizer.idf_ = np.asarray(data["idf"], dtype=np.float64)
            weights = np.asarray(data["weights"], dtype=np.float64)
            if len(weights) != len(data["vocabulary"]):
                raise ValueError("weights and vocabulary differ in length")
            return cls(
                vectorizer,
                weights,
                float(data["bias"]),
                float(data["threshold"]),
                str(data["positive"]),
                bool(data["normalized"]),
                dict(data.get("info", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VigilError(f"cannot load text model {path}: {exc}") from exc
