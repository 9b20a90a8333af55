"""Where to send a notice: a user-kept contact book, else the RFC 2142 abuse mailbox of the site."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.errors import VigilError
from vigil.web import urls


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
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    channel = (row.get("channel") or "email").strip().lower()
                    book.by_name[row["domain"].strip().lower()] = Contact(row["contact"].strip(), channel)
        except (OSError, KeyError) as exc:
            raise VigilError(f"contact book {path}: needs domain,contact[,channel] columns ({exc})") from exc
        return book

    def lookup(self, url: str) -> Contact:
        host = urls.host(url)
        for name in (host, urls.site(host)):
            if name in self.by_name:
                return self.by_name[name]
        return Contact(f"abuse@{urls.site(host)}", "email")
