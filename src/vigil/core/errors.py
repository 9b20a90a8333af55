"""One error hierarchy: per-item problems are values, user errors are `VigilError` subclasses.

A per-item problem (`ItemError`) never stops a batch: it is recorded beside the item and the batch
goes on. A `VigilError` is a refusal meant for a person: the CLI prints it without a traceback (exit
status 2) and the HTTP API answers it with the class's `status`. Subclasses that also derive from a
builtin (`KeyError`, `ValueError`) keep older `except` clauses working.
"""

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
    """An error meant for the user: printed without a traceback by the CLI, a 4xx/5xx by the API."""

    status = 400

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class NotFound(VigilError):
    """The named thing (list, item, scan, report, exchange...) does not exist."""

    status = 404


class UnknownName(NotFound, KeyError):
    """A name that is not registered (plug-in, hash type, list format...); lists the known ones."""


class Conflict(VigilError):
    """The request clashes with the current state (already decided, already open, already exists)."""

    status = 409


class Forbidden(VigilError):
    """The actor's role does not allow this."""

    status = 403


class InvalidInput(VigilError, ValueError):
    """A value that does not parse or is out of range; the message says which and why."""

    status = 422


class TooLarge(VigilError):
    """Input over a configured size limit; nothing of it was processed as if it were whole."""

    status = 413


class Unavailable(VigilError):
    """A remote party (clearinghouse, exchange, web host) failed or could not be reached."""

    status = 502
