"""Plug-ins defined by tests, importable by scan worker processes as `tests.plugins:Name`."""

from __future__ import annotations

import numpy as np

from vigil.intel.classify.base import ModelIdentity


class BrightnessClassifier:
    """A fake model with a known answer: the mean brightness of the image, in [0, 1]."""

    identity = ModelIdentity("fake-brightness", "1.0", ("bright",), 0.5)

    def classify(self, images: list[np.ndarray]) -> list[dict[str, float]]:
        return [{"bright": float(image.mean() / 255)} for image in images]
