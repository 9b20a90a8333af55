"""CSV lists: `hash_type,value[,category[,source]]`, with or without a header.

A header may instead name hash types as columns (`md5,sha1,category`), as many vendor exports do;
each non-empty hash cell then becomes a row.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vigil.core.errors import ItemError
from vigil.lists.formats.base import FORMATS, ListRow, make_row, open_text
from vigil.signals.types import HASH_TYPES

_HEXISH = re.compile(r"(0x)?[0-9a-f]{16,}")
_TYPE_COLS = ("hash_type", "type", "algorithm", "hashtype")
_VALUE_COLS = ("value", "hash", "hash_value", "hashvalue")
_CATEGORY_COLS = ("category", "cat", "class")
_ORIGIN_COLS = ("source", "origin", "list")


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    for i, col in enumerate(header):
        if col in names:
            return i
    return None


class CsvFormat:
    name = "csv"
    suffixes: tuple[str, ...] = (".csv", ".tsv")

    def read(self, path: Path) -> Iterator[ListRow | ItemError]:
        with open_text(path) as handle:
            sample = handle.read(4096)
            handle.seek(0)
            delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
            reader = csv.reader(handle, delimiter=delimiter)
            try:
                first = next(reader, None)
            except csv.Error as exc:
                yield ItemError(f"{path.name}:1", f"unreadable header: {exc}")
                return
            if first is None:
                return
            header = [c.strip().lower() for c in first]
            is_header = not any(_HEXISH.fullmatch(c) for c in header)
            type_col, value_col = _pick(header, _TYPE_COLS), _pick(header, _VALUE_COLS)
            hash_cols = [(i, c) for i, c in enumerate(header) if c in HASH_TYPES]
            cat_col, origin_col = _pick(header, _CATEGORY_COLS), _pick(header, _ORIGIN_COLS)
            if not is_header or (type_col is None and not hash_cols):
                type_col, value_col, cat_col, origin_col = 0, 1, 2, 3
                handle.seek(0)
                reader = csv.reader(handle, delimiter=delimiter)
            for row in _rows(reader, path.name):
                if isinstance(row, ItemError):
                    yield row
                    continue
                where = f"{path.name}:{reader.line_num}"
                if not any(cell.strip() for cell in row):
                    continue
                category = _cell(row, cat_col)
                origin = _cell(row, origin_col)
                if type_col is not None:
                    kind, value = _cell(row, type_col), _cell(row, value_col)
                    if not kind or not value:
                        yield ItemError(where, "row needs a hash type and a value")
                        continue
                    yield make_row(where, kind, value, category, origin)
                    continue
                cells = [(c, _cell(row, i)) for i, c in hash_cols]
                if not any(v for _, v in cells):
                    yield ItemError(where, "row has no hash value")
                for kind, value in cells:
                    if value:
                        yield make_row(where, kind, value, category, origin)

    def write(self, rows: Iterable[ListRow], path: Path) -> int:
        count = 0
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["hash_type", "value", "category", "source"])
            for row in rows:
                writer.writerow([row.hash_type, row.value, row.category or "", row.origin or ""])
                count += 1
        return count


def _rows(reader: Any, name: str) -> Iterator[list[str] | ItemError]:
    """Rows of a CSV reader; a row it cannot parse (a field over the size limit, say) is an error
    for that row alone, and reading goes on with the next."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield ItemError(f"{name}:{reader.line_num}", f"unreadable row: {exc}")
            continue
        yield row


def _cell(row: list[str], index: int | None) -> str | None:
    if index is None or index >= len(row):
        return None
    return row[index].strip() or None


FORMATS.add("csv", CsvFormat())
