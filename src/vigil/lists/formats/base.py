"""The list-format plug-in interface: read rows (or per-row errors), write rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


def detect(path: Path) -> ListFormat:
    """Pick a format by file suffix (`.csv`, `.json`, `.db`...), falling back to plain text."""
    suffix = path.suffix.lower()
    for _name, fmt in FORMATS:
        if suffix in fmt.suffixes:
            return fmt
    return FORMATS.get("plain")
