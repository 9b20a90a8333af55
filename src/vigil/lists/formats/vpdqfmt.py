"""vPDQ video hashes in the reference text format: one video per `.txt` file, one frame per line.

Reading a folder reads every `.txt` in it. The list entry's value is the SHA-256 of the video's
canonical frame text, so the same video hashed twice merges into one entry; its origin is the
file name. Writing goes to a folder, one file per video.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from vigil.core.errors import ItemError
from vigil.lists.formats.base import FORMATS, ListRow
from vigil.signals.vpdq import FrameHash, parse_text


def video_id(frames: Iterable[FrameHash]) -> str:
    return hashlib.sha256("".join(f.line() + "\n" for f in frames).encode()).hexdigest()


def video_row(
    frames: list[FrameHash],
    origin: str | None,
    category: str | None = None,
    regions: dict[str, list[FrameHash]] | None = None,
) -> ListRow:
    flat = tuple((name, f) for name, items in (regions or {}).items() for f in items) or None
    return ListRow("vpdq", video_id(frames), category, origin, tuple(frames), flat)


class VpdqFormat:
    name = "vpdq"
    suffixes: tuple[str, ...] = ()

    def read(self, path: Path) -> Iterator[ListRow | ItemError]:
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        for file in files:
            try:
                with file.open(encoding="utf-8-sig") as handle:
                    frames = parse_text(handle, file.name)
            except (ValueError, UnicodeDecodeError) as exc:
                yield ItemError(file.name, str(exc))
                continue
            if not frames:
                yield ItemError(file.name, "no frames")
                continue
            yield video_row(frames, file.stem)

    def write(self, rows: Iterable[ListRow], path: Path) -> int:
        path.mkdir(parents=True, exist_ok=True)
        count = 0
        for row in rows:
            if row.hash_type != "vpdq" or not row.frames:
                continue
            name = Path(row.origin or row.value).name or row.value
            (path / f"{name}.txt").write_text("".join(f.line() + "\n" for f in row.frames), encoding="utf-8")
            count += 1
        return count


FORMATS.add("vpdq", VpdqFormat())
