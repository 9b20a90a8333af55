"""The list-format plug-in interface: read rows (or per-row errors), write rows."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from vigil.core.errors import ItemError
from vigil.core.registry import Registry
from vigil.signals.types import hash_type
from vigil.signals.vpdq import FrameHash


@dataclass(frozen=True)
class ListRow:
    """One hash on a list, normalised, with the list's own category and origin labels.

    A `vpdq` row also carries its video's frame hashes.
    """

    hash_type: str
    value: str
    category: str | None = None
    origin: str | None = None
    frames: tuple[FrameHash, ...] | None = None
    regions: tuple[tuple[str, FrameHash], ...] | None = None  # half-picture frames (our own hashing only)


class ListFormat(Protocol):
    name: str
    suffixes: tuple[str, ...]

    def read(self, path: Path) -> Iterator[ListRow | ItemError]: ...

    def write(self, rows: Iterable[ListRow], path: Path) -> int: ...


FORMATS: Registry[ListFormat] = Registry("list format")


def make_row(
    where: str, type_name: str, value: str, category: str | None = None, origin: str | None = None
) -> ListRow | ItemError:
    """Validate one hash; a bad type or value becomes an ItemError naming the place."""
    try:
        kind = hash_type(type_name)
        return ListRow(kind.name, kind.normalize(value), _clean(category), _clean(origin))
    except (KeyError, ValueError) as exc:
        return ItemError(where, str(exc).strip('"'))


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def text_encoding(head: bytes) -> str:
    """The encoding of a text list: by byte-order mark, else UTF-16 when every other byte is NUL."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) // 2
        if odd > half * 0.8 and even < half * 0.2:
            return "utf-16-le"
        if even > half * 0.8 and odd < half * 0.2:
            return "utf-16-be"
    return "utf-8"


def open_text(path: Path) -> TextIO:
    """A list file as text in its own encoding; undecodable bytes become U+FFFD (the row then fails
    to parse and is reported), never an exception that loses the file."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    return path.open(newline="", encoding=text_encoding(head), errors="replace")


def detect(path: Path) -> ListFormat:
    """Pick a format by file suffix (`.csv`, `.json`, `.db`...), falling back to plain text."""
    suffix = path.suffix.lower()
    for _name, fmt in FORMATS:
        if suffix in fmt.suffixes:
            return fmt
    return FORMATS.get("plain")
