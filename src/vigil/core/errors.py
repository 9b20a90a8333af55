"""Per-item problems are values, not exceptions, so one bad file or row never stops a batch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemError:
    """Where (file path, archive member or `file:line`) and why an item was skipped."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class VigilError(Exception):
    """An error meant for the user: printed without a traceback by the CLI."""
