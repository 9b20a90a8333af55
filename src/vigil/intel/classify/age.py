"""Age-estimation slot: no model ships. Point `$VIGIL_AGE_MODEL` at your own ONNX file.

Expected model interface:
* input: one tensor, float32, shape (N, 3, 224, 224), RGB, values scaled to [0, 1];
* output: either (N, 1) estimated age in years, or (N, K) probabilities over K age bins whose upper
  bounds are listed, comma-separated, in `$VIGIL_AGE_BINS` (for example `12,17,25,35,50,120`).
The plug-in reports `minor_likelihood` (probability mass below 18, or 1/0 from a regressed age) and,
for regressors, `estimated_age`. Validate any such model on your own data before trusting its order.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from vigil.intel.classify.base import ModelIdentity

SIZE = 224


class OnnxAgeEstimator:
    def __init__(self, model: Path, bins: list[float] | None = None) -> None:
        import onnxruntime

        self._session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._bins = bins
        scores = ("minor_likelihood",) if bins else ("minor_likelihood", "estimated_age")
        self.identity = ModelIdentity(f"age-onnx:{model.name}", str(model.stat().st_mtime_ns), scores, 0.5)

    @classmethod
    def from_env(cls) -> OnnxAgeEstimator:
        path = os.environ.get("VIGIL_AGE_MODEL")
        if not path:
            raise RuntimeError("set VIGIL_AGE_MODEL to your age-estimation ONNX file (none ships with Vigil)")
        bins = os.environ.get("VIGIL_AGE_BINS")
        return cls(Path(path), [float(b) for b in bins.split(",")] if bins else None)

    def classify(self, images: list[np.ndarray]) -> list[dict[str, float]]:
        batch = np.stack([cv2.resize(i, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for i in images])
        tensor = batch.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        output = np.asarray(self._session.run(None, {self._input: tensor})[0], dtype=np.float64)
        if self._bins is None:
            ages = output.reshape(len(images))
            return [{"minor_likelihood": float(a < 18), "estimated_age": float(a)} for a in ages]
        below = np.asarray([upper <= 18 for upper in self._bins])
        return [{"minor_likelihood": float(row[below].sum() / max(row.sum(), 1e-9))} for row in output]
