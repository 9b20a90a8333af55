"""The classifier plug-in interface and registry.

A plug-in takes decoded RGB images (uint8, HxWx3; video frames work the same) in batches and returns
named scores in [0, 1] per image, with the model's id and version, which travel with every stored
score. Plug-ins are registered as factories so heavy models load only when a scan asks for them,
and once per worker process.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from vigil.core.errors import UnknownName
from vigil.core.registry import Registry


@dataclass(frozen=True)
class ModelIdentity:
    model_id: str
    version: str
    scores: tuple[str, ...]  # the score names it produces
    default_threshold: float  # score at which an item is worth a reviewer's look


class Classifier(Protocol):
    identity: ModelIdentity

    def classify(self, images: list[np.ndarray]) -> list[dict[str, float]]: ...


CLASSIFIERS: Registry[Callable[[], Classifier]] = Registry("classifier")


@lru_cache(maxsize=8)
def load(name: str) -> Classifier:
    """The plug-in instance for this process (models load once).

    `name` is a registered plug-in, or `package.module:Factory` for your own model: scans hash in
    separate worker processes, and a dotted path is what each of them can import by itself.
    """
    if ":" in name:
        module, _, attribute = name.partition(":")
        try:
            factory: Callable[[], Classifier] = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise UnknownName(f"cannot load classifier {name!r}: {exc}") from None
        return factory()
    return CLASSIFIERS.get(name)()


def _nudenet() -> Classifier:
    from vigil.intel.classify.nudity import NudeNetClassifier

    return NudeNetClassifier()


def _age_onnx() -> Classifier:
    from vigil.intel.classify.age import OnnxAgeEstimator

    return OnnxAgeEstimator.from_env()


# Factories import their module on first use, so listing plug-ins loads no model code.
CLASSIFIERS.add("nudenet", _nudenet)
CLASSIFIERS.add("age-onnx", _age_onnx)
