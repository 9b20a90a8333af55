"""Grooming-risk engines: per-author score, the messages that drove it, and an early-warning point.

Both engines answer the same question (`AuthorRisk` per author) and plug in through CHAT_ENGINES.
The early warning asks whether an author's score had crossed the threshold within their first k messages:
the point of scoring chats is to get a human to read before a conversation moves on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vigil.core import defaults
from vigil.core.registry import Registry
from vigil.intel.chats.indicators import (
    BARE_MINOR_AGE,
    MINOR_CONTEXT_WEIGHT,
    MINOR_DISCLOSURE,
    STAGES,
    Stage,
    stage_hits,
)
from vigil.intel.chats.messages import Message
from vigil.intel.text.linear import LinearTextModel

DEFAULT_EARLY_K = defaults.EARLY_K


@dataclass(frozen=True)
class Driver:
    conversation: str
    number: int  # the author's n-th message, from 1
    timestamp: str
    text: str
    reasons: tuple[str, ...]


@dataclass
class AuthorRisk:
    author: str
    score: float
    messages: int
    flagged: bool
    warned_at: int | None  # the author's message count when the score first crossed the threshold
    early_warning: bool
    drivers: list[Driver] = field(default_factory=list)
    stages: dict[str, int] = field(default_factory=dict)


class ChatEngine(Protocol):
    threshold: float

    def score(self, messages: Sequence[Message], early_k: int = DEFAULT_EARLY_K) -> list[AuthorRisk]: ...


CHAT_ENGINES: Registry[Callable[[Path | None], ChatEngine]] = Registry("chat engine")


def _by_author(messages: Sequence[Message]) -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        out[m.author].append(m)
    return out


class IndicatorEngine:
    """Stage-coverage score: a second hit of a stage adds less than a first hit of a new one."""

    def __init__(self, stages: tuple[Stage, ...] = STAGES, threshold: float = 0.45) -> None:
        self.stages = stages
        self.weights = {s.name: s.weight for s in stages}
        self.threshold = threshold

    def _risk(self, counts: dict[str, int], minor_context: bool) -> float:
        keep = 1.0
        for name, n in counts.items():
            keep *= 1.0 - self.weights[name] * (1.0 - 0.5**n)
        if minor_context and counts:
            keep *= 1.0 - MINOR_CONTEXT_WEIGHT
        return 1.0 - keep

    def score(self, messages: Sequence[Message], early_k: int = DEFAULT_EARLY_K) -> list[AuthorRisk]:
        minors: dict[str, set[str]] = defaultdict(set)  # conversation -> authors who stated a minor age
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        seen: dict[str, int] = defaultdict(int)
        convs: dict[str, set[str]] = defaultdict(set)
        out: dict[str, AuthorRisk] = {}
        age_asked: dict[str, str] = {}  # conversation -> author whose last message probed age
        for m in messages:
            seen[m.author] += 1
            convs[m.author].add(m.conversation)
            asker = age_asked.get(m.conversation)
            answered = asker not in (None, m.author) and BARE_MINOR_AGE.match(m.text)
            if answered or MINOR_DISCLOSURE.search(m.text):
                minors[m.conversation].add(m.author)
            risk = out.setdefault(m.author, AuthorRisk(m.author, 0.0, 0, False, None, False))
            hits = stage_hits(m.text, self.stages)
            if "age_probing" in hits:
                age_asked[m.conversation] = m.author
            elif asker != m.author:
                age_asked.pop(m.conversation, None)
            for name, phrases in hits.items():
                counts[m.author][name] = counts[m.author].get(name, 0) + len(phrases)
            context = any(minors[c] - {m.author} for c in convs[m.author])
            risk.score = self._risk(counts[m.author], context)
            risk.messages = seen[m.author]
            if hits:
                reasons = tuple(f"{name}: {', '.join(p)}" for name, p in hits.items())
                risk.drivers.append(Driver(m.conversation, seen[m.author], m.timestamp, m.text, reasons))
            if risk.warned_at is None and risk.score >= self.threshold:
                risk.warned_at = seen[m.author]
        for author, risk in out.items():
            # A contact's disclosure later in the conversation still counts for the final score.
            context = any(minors[c] - {author} for c in convs[author])
            risk.score = self._risk(counts[author], context)
            risk.stages = dict(counts[author])
            risk.flagged = risk.score >= self.threshold
            risk.early_warning = risk.warned_at is not None and risk.warned_at <= early_k
        return sorted(out.values(), key=lambda r: -r.score)


class ModelEngine:
    """A trained word n-gram model over each author's messages (the PAN 2012 set-up)."""

    def __init__(self, model: LinearTextModel) -> None:
        self.model = model
        self.threshold = model.threshold

    @classmethod
    def train(
        cls, messages: Sequence[Message], positive_authors: set[str], target_precision: float | None = None
    ) -> ModelEngine:
        authors = _by_author(messages)
        docs = [" ".join(m.text for m in ms) for ms in authors.values()]
        labels = [a in positive_authors for a in authors]
        model = LinearTextModel.train(
            docs,
            labels,
            analyzer="word",
            ngram_range=(1, 2),
            positive="predator",
            target_precision=target_precision,
        )
        return cls(model)

    def score(self, messages: Sequence[Message], early_k: int = DEFAULT_EARLY_K) -> list[AuthorRisk]:
        authors = _by_author(messages)
        names = list(authors)
        scores = self.model.scores([" ".join(m.text for m in authors[a]) for a in names])
        out = []
        for author, score in zip(names, scores, strict=True):
            ms = authors[author]
            risk = AuthorRisk(author, float(score), len(ms), bool(score >= self.threshold), None, False)
            if risk.flagged:
                prefixes = self.model.scores(
                    [" ".join(m.text for m in ms[:n]) for n in range(1, min(early_k, len(ms)) + 1)]
                )
                crossed = [n + 1 for n, s in enumerate(prefixes) if s >= self.threshold]
                risk.warned_at = crossed[0] if crossed else None
                risk.early_warning = risk.warned_at is not None
                per_message = self.model.scores([m.text for m in ms])
                for i in sorted(range(len(ms)), key=lambda i: -per_message[i])[:3]:
                    why = tuple(f"{gram} (+{w:.2f})" for gram, w in self.model.explain(ms[i].text, 3))
                    risk.drivers.append(Driver(ms[i].conversation, i + 1, ms[i].timestamp, ms[i].text, why))
            out.append(risk)
        return sorted(out, key=lambda r: -r.score)


def _indicator(lexicon: Path | None) -> ChatEngine:
    from vigil.intel.chats.indicators import load_lexicon

    return IndicatorEngine(load_lexicon(lexicon) if lexicon else STAGES)


def _model(path: Path | None) -> ChatEngine:
    from vigil.core.errors import VigilError

    if path is None:
        raise VigilError("the model engine needs --model FILE (train one with `vigil text chats train`)")
    return ModelEngine(LinearTextModel.load(path))


CHAT_ENGINES.add("indicator", _indicator)
CHAT_ENGINES.add("model", _model)


@dataclass(frozen=True)
class PanMetrics:
    precision: float
    recall: float
    f05: float
    flagged: int
    predators: int


def pan_metrics(flagged: set[str], predators: set[str]) -> PanMetrics:
    """PAN 2012 problem 1: precision, recall and F0.5 of the flagged authors against the predator ids."""
    tp = len(flagged & predators)
    precision = tp / len(flagged) if flagged else 0.0
    recall = tp / len(predators) if predators else 0.0
    f05 = 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0.0
    return PanMetrics(precision, recall, f05, len(flagged), len(predators))
