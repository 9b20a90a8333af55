"""Project VIC VICS 2.0 JSON: an OData feed whose `value[]` holds media with MD5/SHA1/Category.

Other hashes (SHA256, PDQ, PhotoDNA...) sit in `AlternativeHashes[]` as `HashName`/`HashValue`.
Hash names Vigil does not handle (PhotoDNA) are skipped with a per-item note, not an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vigil.core.errors import ItemError
from vigil.lists.formats.base import FORMATS, ListRow, make_row, open_text
from vigil.signals.types import HASH_TYPES

ODATA_CONTEXT = "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media"
_DIRECT = (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256"))


class VicsFormat:
    name = "vics"
    suffixes: tuple[str, ...] = (".json",)

    def read(self, path: Path) -> Iterator[ListRow | ItemError]:
        with open_text(path) as handle:
            text = handle.read()
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            yield from self._salvage(path.name, text)
            return
        media = document.get("value") if isinstance(document, dict) else None
        if not isinstance(media, list):
            yield ItemError(path.name, "not a VICS/OData feed: no value[] array")
            return
        for index, item in enumerate(media):
            yield from self._media(f"{path.name}:value[{index}]", item)

    def _salvage(self, name: str, text: str) -> Iterator[ListRow | ItemError]:
        """A damaged or truncated feed: every whole media entry before the break, then the break."""
        found = _VALUE_ARRAY.search(text)
        if found is None:
            yield ItemError(name, "not valid JSON, and no value[] array to read entries from")
            return
        decoder, position, index = json.JSONDecoder(), found.end(), 0
        while True:
            position = _skip(text, position)
            if position >= len(text):
                yield ItemError(name, f"file ends inside value[] after {index} entries (truncated)")
                return
            if text[position] == "]":
                return
            try:
                item, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                yield ItemError(
                    f"{name}:value[{index}]", f"invalid or truncated JSON at byte {exc.pos}: {exc.msg}"
                )
                return
            yield from self._media(f"{name}:value[{index}]", item)
            index += 1
            position = _skip(text, position)
            if position < len(text) and text[position] == ",":
                position += 1

    def _media(self, where: str, item: Any) -> Iterator[ListRow | ItemError]:
        if not isinstance(item, dict):
            yield ItemError(where, "media entry is not an object")
            return
        category = item.get("Category")
        origin = item.get("Source") or item.get("MediaID")
        found = False
        for key, kind in _DIRECT:
            if item.get(key):
                found = True
                yield make_row(where, kind, str(item[key]), _text(category), _text(origin))
        alternatives = item.get("AlternativeHashes") or []
        if not isinstance(alternatives, list):
            yield ItemError(where, "AlternativeHashes is not an array")
            return
        for alt in alternatives:
            if not isinstance(alt, dict) or not alt.get("HashName") or not alt.get("HashValue"):
                yield ItemError(where, "AlternativeHashes entry needs HashName and HashValue")
                continue
            name = str(alt["HashName"]).strip().lower()
            if name not in HASH_TYPES:
                continue
            found = True
            yield make_row(where, name, str(alt["HashValue"]), _text(category), _text(origin))
        if not found:
            yield ItemError(where, "media entry has no usable hash")

    def write(self, rows: Iterable[ListRow], path: Path) -> int:
        media: list[dict[str, Any]] = []
        for number, row in enumerate(rows, 1):
            entry: dict[str, Any] = {"MediaID": number}
            if row.category is not None:
                entry["Category"] = int(row.category) if row.category.isdigit() else row.category
            if row.origin:
                entry["Source"] = row.origin
            direct = {kind: key for key, kind in _DIRECT if kind != "sha256"}
            if row.hash_type in direct:
                entry[direct[row.hash_type]] = row.value.upper()
            else:
                entry["AlternativeHashes"] = [{"HashName": row.hash_type.upper(), "HashValue": row.value}]
            media.append(entry)
        document = {"@odata.context": ODATA_CONTEXT, "value": media}
        path.write_text(json.dumps(document, indent=1), encoding="utf-8")
        return len(media)


_VALUE_ARRAY = re.compile(r'"value"\s*:\s*\[')


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


FORMATS.add("vics", VicsFormat())
