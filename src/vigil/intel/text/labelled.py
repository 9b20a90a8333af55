"""Labelled text from a user's CSV: bad rows are reported and skipped, never fatal."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.errors import ItemError, VigilError


@dataclass
class Labelled:
    texts: list[str] = field(default_factory=list)
    labels: list[bool] = field(default_factory=list)
    problems: list[ItemError] = field(default_factory=list)


def read_labelled_csv(
    path: Path, *, text_column: str = "text", label_column: str = "label", positive: str = "1"
) -> Labelled:
    """Rows of (text, label); `positive` names the label the model should find, all others are negative."""
    out = Labelled()
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        missing = {text_column, label_column} - set(reader.fieldnames or [])
        if missing:
            raise VigilError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            text, label = row.get(text_column), row.get(label_column)
            if not text or label is None or not label.strip():
                out.problems.append(ItemError(f"{path.name}:{line}", "empty text or label"))
                continue
            out.texts.append(text)
            out.labels.append(label.strip() == positive)
    return out
