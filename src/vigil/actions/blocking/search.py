"""Search warnings: check a query against a reviewed term list and return a deterrence message.

Normalisation defeats the usual evasions: case, accents and look-alike letters, leetspeak digits
and symbols, separators between letters ("t.e.r.m", "t e r m"), and stretched letters. Terms
match on whole-word boundaries of the normalised query; a term of 6+ letters also matches inside
the query with all separators removed, which catches spaced-out spellings without matching short
terms inside unrelated words. The payload names matched term ids, never the terms themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.textfold import fold

LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "+": "t",
        "€": "e",
    }
)
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
_REPEATS = re.compile(r"(.)\1+")
COMPACT_MIN = 6

HELPLINES = {
    "en": {"name": "Stop It Now", "url": "https://www.stopitnow.org/"},
    "no": {"name": "Det finnes hjelp", "url": "https://www.detfinnesjelp.no/"},
}
MESSAGES = {
    "en": (
        "Searches like this can lead to sexual images of children. Viewing them is illegal and harms children. "
        "Confidential help is available."
    ),
    "no": (
        "Søk som dette kan føre til seksuelle bilder av barn. Å se på dem er straffbart og skader barn. "
        "Det finnes anonym hjelp."
    ),
}


def normalise(text: str) -> str:
    """Lowercase words separated by single spaces, after the Unicode folding every text engine
    shares (`vigil.core.textfold`: zero-width characters, look-alikes, enclosed letters, accents)."""
    plain = fold(text).translate(LEET)
    return " ".join(_SEPARATORS.sub(" ", plain).split())


def squeeze(text: str) -> str:
    """Every run of a repeated letter as one letter ("pineapppple" and "pineapple" agree)."""
    return _REPEATS.sub(r"\1", text)


def _collapse_single_letters(words: list[str]) -> list[str]:
    """Join runs of one-letter words ("t e r m") back into a word."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        if run:
            out.append("".join(run) if len(run) > 1 else run[0])
            run = []
        if word:
            out.append(word)
    return out


@dataclass(frozen=True)
class Term:
    id: str
    text: str  # normalised
    level: str = "warn"


@dataclass
class TermList:
    """A reviewed term list: one `id<TAB>term[<TAB>level]` per line (`#` comments)."""

    terms: list[Term] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> TermList:
        return cls.from_lines(path.read_text(encoding="utf-8").splitlines())

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> TermList:
        terms = []
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not normalise(parts[1]):
                raise ValueError(f"term list line {number}: expected id<TAB>term[<TAB>level]")
            terms.append(
                Term(parts[0].strip(), normalise(parts[1]), (parts[2].strip() if len(parts) > 2 else "warn"))
            )
        return cls(terms)


@dataclass(frozen=True)
class Warning:
    warn: bool
    matched: tuple[str, ...]
    language: str
    message: str | None = None
    helpline: dict[str, str] | None = None


def check(query: str, terms: TermList, language: str = "en") -> Warning:
    words = _collapse_single_letters(normalise(query).split())
    spaced = f" {' '.join(words)} "
    compact = squeeze("".join(words))
    matched = tuple(
        t.id
        for t in terms.terms
        if f" {t.text} " in spaced
        or (len(t.text.replace(" ", "")) >= COMPACT_MIN and squeeze(t.text.replace(" ", "")) in compact)
    )
    if not matched:
        return Warning(False, (), language)
    lang = language if language in MESSAGES else "en"
    return Warning(True, matched, lang, MESSAGES[lang], HELPLINES[lang])


def false_positive_rate(queries: Iterable[str], terms: TermList) -> tuple[float, list[str]]:
    """Share of benign queries that would get a warning, and which ones."""
    items = [q for q in queries if q.strip()]
    flagged = [q for q in items if check(q, terms).warn]
    return (len(flagged) / len(items) if items else 0.0), flagged
