"""Plain lists: one hash per line; the type comes from `--hash-type` or from the value's length."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from vigil.core.errors import ItemError
from vigil.lists.formats.base import FORMATS, ListRow, make_row, open_text

_BY_LENGTH = {32: "md5", 40: "sha1"}


class PlainFormat:
    """64-hex values are ambiguous (SHA-256 or PDQ): they need an explicit hash type."""

    name = "plain"
    suffixes: tuple[str, ...] = (".txt", ".lst", ".hashes")

    def __init__(self, hash_type: str | None = None) -> None:
        self.hash_type = hash_type

    def read(self, path: Path) -> Iterator[ListRow | ItemError]:
        with open_text(path) as handle:
            for number, line in enumerate(handle, 1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                where = f"{path.name}:{number}"
                value = text.split()[0]
                kind = self.hash_type or _BY_LENGTH.get(len(value.removeprefix("0x")))
                if kind is None:
                    yield ItemError(where, f"cannot tell the hash type of {value[:80]!r}; pass --hash-type")
                    continue
                yield make_row(where, kind, value)

    def write(self, rows: Iterable[ListRow], path: Path) -> int:
        count = 0
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(row.value + "\n")
                count += 1
        return count


FORMATS.add("plain", PlainFormat())
