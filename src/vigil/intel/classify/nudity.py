"""Reference plug-in: NudeNet's offline detector (ONNX, run by onnxruntime on the CPU).

NudeNet is AGPL-3.0, so it is an optional extra (`pip install 'vigil[classifiers]'`), never a core
dependency; its wheel carries the model file, so nothing is downloaded at run time. It detects
exposed body parts of anyone, adults included: a nudity score is a reason to look sooner, not a
finding, and says nothing about age.
"""

from __future__ import annotations

import numpy as np

from vigil.intel.classify.base import ModelIdentity

EXPOSED = frozenset(
    {
        "BUTTOCKS_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
    }
)


class NudeNetClassifier:
    def __init__(self) -> None:
        try:
            import nudenet
            from nudenet import NudeDetector
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise RuntimeError("the nudenet plug-in needs: pip install 'vigil[classifiers]'") from exc
        self._detector = NudeDetector()
        version = getattr(nudenet, "__version__", None)
        if version is None:
            from importlib.metadata import version as package_version

            version = package_version("nudenet")
        self.identity = ModelIdentity("nudenet-320n", str(version), ("nudity",), 0.5)

    def classify(self, images: list[np.ndarray]) -> list[dict[str, float]]:
        """One onnxruntime batch for the whole list."""
        batch = [np.ascontiguousarray(rgb[:, :, ::-1]) for rgb in images]  # the detector expects BGR
        results = self._detector.detect_batch(batch, batch_size=max(len(batch), 1))
        return [
            {"nudity": float(max((d["score"] for d in found if d.get("class") in EXPOSED), default=0.0))}
            for found in results
        ]
