"""Where to send a notice: a user-kept contact book, else the RFC 2142 abuse mailbox of the site."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.errors import VigilError
from vigil.web import urls


def read_csv(path: Path, what: str, columns: str, take: Callable[[dict[str, str]], None]) -> None:
    """Feed each row of an operator-kept CSV to `take`. A missing file, a missing column or a value
    that does not parse is one clear error naming the file and the columns it needs."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                take(row)
    except (OSError, KeyError, ValueError) as exc:
        raise VigilError(f"{what} {path}: needs {columns} ({exc})") from exc


@dataclass(frozen=True)
class Contact:
    address: str  # e-mail address or https endpoint
    channel: str  # email | http


@dataclass
class ContactBook:
    by_name: dict[str, Contact] = field(default_factory=dict)  # host or registrable domain -> contact

    @classmethod
    def load(cls, path: Path | None) -> ContactBook:
        book = cls()
        if path is None:
            return book

        def take(row: dict[str, str]) -> None:
            channel = (row.get("channel") or "email").strip().lower()
            book.by_name[row["domain"].strip().lower()] = Contact(row["contact"].strip(), channel)

        read_csv(path, "contact book", "domain,contact[,channel] columns", take)
        return book

    def lookup(self, url: str) -> Contact:
        host = urls.host(url)
        for name in (host, urls.site(host)):
            if name in self.by_name:
                return self.by_name[name]
        return Contact(f"abuse@{urls.site(host)}", "email")
