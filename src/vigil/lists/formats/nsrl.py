"""NIST NSRL RDSv3 (SQLite): the `FILE` table's md5/sha1/sha256 as a known-benign filter list.

Read-only: Vigil never writes NSRL databases. Rows are streamed so a full RDS (hundreds of
millions of rows) never sits in memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from vigil.core.errors import InvalidInput, ItemError
from vigil.lists.formats.base import FORMATS, ListRow, make_row

_COLUMNS = ("md5", "sha1", "sha256")


class NsrlFormat:
    name = "nsrl"
    suffixes: tuple[str, ...] = (".db", ".sqlite", ".sqlite3")

    def read(self, path: Path) -> Iterator[ListRow | ItemError]:
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            columns = {row[1].lower() for row in conn.execute("PRAGMA table_info(FILE)")}
        except sqlite3.DatabaseError as exc:
            yield ItemError(path.name, f"not an NSRL RDSv3 SQLite database: {exc}")
            return
        wanted = [c for c in _COLUMNS if c in columns]
        if not wanted:
            conn.close()
            yield ItemError(path.name, "no FILE table with md5/sha1/sha256 columns (RDSv3 layout)")
            return
        has_name = "file_name" in columns
        select = ", ".join([*wanted, "file_name" if has_name else "NULL"])
        try:
            cursor = conn.execute(f"SELECT DISTINCT {select} FROM FILE")
            for number, record in enumerate(cursor, 1):
                name = record[-1]
                for kind, value in zip(wanted, record[:-1], strict=False):
                    if value:
                        yield make_row(f"{path.name}:FILE[{number}]", kind, str(value), None, name)
        finally:
            conn.close()

    def write(self, rows: Iterable[ListRow], path: Path) -> int:
        raise InvalidInput("NSRL databases are published by NIST; Vigil reads them but does not write them")


FORMATS.add("nsrl", NsrlFormat())
