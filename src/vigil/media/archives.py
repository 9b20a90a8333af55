"""Archives, streamed one member at a time with limits that stop decompression bombs.

A zip is found wherever its end-of-central-directory record is (so a zip appended to a JPEG, or hidden
behind a GIF header, opens too); a zip buried inside another file with data after it is carved out by
signature. Tar archives (plain or compressed) are read as a stream. Members are addressed by position,
never by name, because names repeat. Every member is read through a `Meter` that counts inflated bytes
against a per-item `Budget`: too many members, too deep, too many bytes or too high a compression ratio
raise `Bomb`, and what was read before it stays hashed.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from vigil.core import defaults
from vigil.core.errors import VigilError
from vigil.media.walk import ItemRef, Listed, Member, display_name

ZIP_LOCAL = b"PK\x03\x04"
ZIP_END = b"PK\x05\x06"
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
CHUNK = 1 << 20


class Bomb(VigilError):
    """Decompression would exceed a limit; the message names the limit and the numbers."""


class CorruptArchive(VigilError):
    """Looks like an archive but cannot be opened."""


@dataclass(frozen=True)
class Limits:
    """Per top-level item: how deep, how many members, how many bytes, how compressed."""

    max_depth: int = 4
    max_members: int = 100_000
    max_inflated: int = 16 << 30
    max_ratio: float = defaults.MAX_RATIO  # inflated:compressed, once a member passes ratio_floor
    ratio_floor: int = 64 << 20
    max_image_bytes: int = 256 << 20  # images larger than this keep exact hashes only
    max_pixels: int = defaults.MAX_PIXELS  # decoded size above which an image is not decoded


@dataclass
class Budget:
    limits: Limits
    members: int = 0
    inflated: int = 0

    def count_member(self, ref: ItemRef) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise Bomb(f"more than {self.limits.max_members:,} archive members (at {ref.label})")
        if len(ref.members) > self.limits.max_depth:
            raise Bomb(f"archives nested deeper than {self.limits.max_depth} levels (at {ref.label})")


@dataclass
class Shared:
    """Bytes inflated from one compressed stream (a .tar.gz) against what was read of it so far."""

    compressed: IO[bytes]
    inflated: int = 0


class Meter(io.RawIOBase):
    """A read-only stream that counts what it inflates against the budget and the ratio limits."""

    def __init__(
        self,
        inner: IO[bytes],
        budget: Budget,
        label: str,
        compressed: int | None = None,
        shared: Shared | None = None,
    ) -> None:
        super().__init__()
        self.inner, self.budget, self.label = inner, budget, label
        self.compressed, self.shared, self.read_bytes = compressed, shared, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.read_bytes += n
        self.budget.inflated += n
        limits = self.budget.limits
        if self.budget.inflated > limits.max_inflated:
            raise Bomb(f"more than {limits.max_inflated:,} bytes inflated (at {self.label})")
        self._ratio(self.read_bytes, self.compressed)
        if self.shared is not None:
            self.shared.inflated += n
            self._ratio(self.shared.inflated, self.shared.compressed.tell())
        return n

    def _ratio(self, inflated: int, compressed: int | None) -> None:
        limits = self.budget.limits
        if compressed is None or inflated <= limits.ratio_floor:
            return
        ratio = inflated / max(compressed, 1)
        if ratio > limits.max_ratio:
            raise Bomb(
                f"{self.label} inflates {inflated:,} bytes from {compressed:,} "
                f"(ratio {ratio:,.0f}:1, limit {limits.max_ratio:,.0f}:1)"
            )


def archive_kind(name: str, head: bytes, path: str | None = None) -> str | None:
    """`zip` (an end-of-central-directory record is found), `tar`, or None."""
    lowered = name.lower()
    if path is not None:
        try:
            if zipfile.is_zipfile(path):
                return "zip"
        except OSError:
            return None
    elif head.startswith(ZIP_LOCAL):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if lowered.endswith(TAR_SUFFIXES) and (head.startswith(COMPRESSED_MAGIC) or len(head) >= 262):
        return "tar"
    if head.startswith(COMPRESSED_MAGIC) and path is not None and _tar_inside(path):
        return "tar"
    return None


def claims_zip(head: bytes) -> bool:
    return head.startswith(ZIP_LOCAL) or head.startswith(ZIP_END)


def _tar_inside(path: str) -> bool:
    try:
        with tarfile.open(path, mode="r:*") as archive:
            return archive.next() is not None
    except (tarfile.TarError, OSError, EOFError, ValueError):
        return False


@dataclass
class Signatures:
    """Zip signatures seen while a file is hashed, for carving a zip buried inside it."""

    first_local: int | None = None
    ends: list[int] = field(default_factory=list)
    offset: int = 0
    tail: bytes = b""

    def feed(self, chunk: bytes) -> None:
        window = self.tail + chunk
        base = self.offset - len(self.tail)
        if self.first_local is None and (at := window.find(ZIP_LOCAL)) >= 0:
            self.first_local = base + at
        start = 0
        while len(self.ends) < 16 and (at := window.find(ZIP_END, start)) >= 0:
            if base + at not in self.ends:
                self.ends.append(base + at)
            start = at + 1
        self.offset += len(chunk)
        self.tail = window[-3:]

    def carvable(self) -> tuple[int, int] | None:
        """(start, end-record offset) of a zip inside the file that a plain open would miss."""
        if self.first_local is None:
            return None
        ends = [e for e in self.ends if e > self.first_local]
        return (self.first_local, ends[-1]) if ends else None


def carve(source: IO[bytes], start: int, end_record: int, into: IO[bytes]) -> None:
    """Copy the zip between its first local header and its end record (with comment) to `into`."""
    source.seek(end_record + 20)
    comment = int.from_bytes(source.read(2), "little")
    source.seek(start)
    remaining = end_record + 22 + comment - start
    while remaining > 0:
        chunk = source.read(min(CHUNK, remaining))
        if not chunk:
            break
        into.write(chunk)
        remaining -= len(chunk)
    into.flush()


@dataclass
class Entry:
    """A member to read now (its stream is valid until the iteration moves on)."""

    ref: ItemRef
    stream: IO[bytes]
    size: int | None


def members(
    container: str, kind: str, parent: ItemRef, budget: Budget
) -> Generator[Entry | Listed, None, None]:
    """Members of the archive in the file `container`, in order, metered against the budget.

    Each entry's stream is valid until the iteration moves on; a damaged archive raises
    `CorruptArchive` after the members that could be read.
    """
    if kind == "zip":
        yield from _zip_members(container, parent, budget)
    elif kind == "tar":
        yield from _tar_members(container, parent, budget)
    else:  # pragma: no cover - callers pass a kind from archive_kind
        raise ValueError(kind)


def _zip_members(container: str, parent: ItemRef, budget: Budget) -> Iterator[Entry | Listed]:
    try:
        archive = zipfile.ZipFile(container)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise CorruptArchive(f"corrupt archive: {exc}") from None
    limits = budget.limits
    with archive:
        for index, info in enumerate(archive.infolist()):
            if info.is_dir():
                continue
            ref = parent.child(Member("zip", index, display_name(info.filename)))
            budget.count_member(ref)
            declared = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.ratio_floor and declared > limits.max_ratio:
                why = (
                    f"{ref.label} declares {info.file_size:,} bytes from {info.compress_size:,} "
                    f"(ratio {declared:,.0f}:1, limit {limits.max_ratio:,.0f}:1)"
                )
                yield Listed(ref, f"possible decompression bomb: {why}", unreadable=True)
                raise Bomb(why)
            if info.flag_bits & 0x1:
                yield Listed(ref, "encrypted archive member, not read", unreadable=True)
                continue
            try:
                stream = archive.open(info)
            except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError, EOFError) as exc:
                yield Listed(ref, f"cannot read archive member: {exc}", unreadable=True)
                continue
            with stream:
                metered = Meter(stream, budget, ref.label, info.compress_size)
                yield Entry(ref, io.BufferedReader(metered, CHUNK), info.file_size)


def _tar_members(container: str, parent: ItemRef, budget: Budget) -> Iterator[Entry | Listed]:
    try:
        handle = open(container, "rb")  # noqa: SIM115 - closed below, the tar stream reads from it
    except OSError as exc:
        raise CorruptArchive(f"cannot open archive: {exc}") from None
    with handle:
        try:
            archive = tarfile.open(fileobj=handle, mode="r|*")  # noqa: SIM115 - `with archive` below
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            raise CorruptArchive(f"corrupt archive: {exc}") from None
        shared = Shared(handle)  # a compressed tar's ratio is inflated bytes : file bytes read so far
        with archive:
            index = -1
            while True:
                try:
                    info = archive.next()
                except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
                    raise CorruptArchive(f"archive is damaged after member {index + 1}: {exc}") from None
                if info is None:
                    return
                index += 1
                if info.isdir():
                    continue
                ref = parent.child(Member("tar", index, display_name(info.name)))
                budget.count_member(ref)
                if info.issym() or info.islnk():
                    yield Listed(ref, f"link member to {display_name(info.linkname)} (not followed)")
                    continue
                if not info.isfile():
                    yield Listed(ref, "special archive member (device or FIFO), not read")
                    continue
                stream = archive.extractfile(info)
                if stream is None:  # pragma: no cover - isfile() members always have a stream
                    continue
                metered = Meter(stream, budget, ref.label, None, shared)
                yield Entry(ref, io.BufferedReader(metered, CHUNK), info.size)


@contextmanager
def spilled(stream: IO[bytes], folder: str | None = None) -> Iterator[str]:
    """Copy a stream to a temporary file (for archives and videos inside archives); yields its path."""
    handle = tempfile.NamedTemporaryFile(prefix="vigil-", dir=folder, delete=False)  # noqa: SIM115
    try:
        with handle:
            shutil.copyfileobj(stream, handle, CHUNK)
        yield handle.name
    finally:
        os.unlink(handle.name)


@contextmanager
def opened(ref: ItemRef, limits: Limits | None = None) -> Iterator[IO[bytes]]:
    """A readable stream of one item, re-opening each archive level by member position."""
    budget = Budget(limits or Limits())
    with ExitStack() as stack:
        current = ref.fs_path
        stream: IO[bytes] = stack.enter_context(open(current, "rb"))
        for depth, member in enumerate(ref.members):
            inner = ItemRef(ref.path, ref.members[:depth])
            if member.kind == "carved":
                target = stack.enter_context(tempfile.NamedTemporaryFile(prefix="vigil-"))
                carve(stream, member.index, _end_after(stream, member.index), target)
                current = target.name
                stream = stack.enter_context(open(current, "rb"))
                continue
            entries = members(current, member.kind, inner, budget)
            stack.callback(entries.close)  # keep the archive open while its member is read
            found = next(
                (e for e in entries if isinstance(e, Entry) and e.ref.members[-1].index == member.index),
                None,
            )
            if found is None:
                raise FileNotFoundError(f"member {member.name!r} not found in {inner.label}")
            if depth + 1 < len(ref.members):
                current = stack.enter_context(spilled(found.stream))
                stream = stack.enter_context(open(current, "rb"))
            else:
                stream = found.stream
        yield stream


def _end_after(source: IO[bytes], start: int) -> int:
    source.seek(start)
    seen = Signatures(offset=start)
    while chunk := source.read(CHUNK):
        seen.feed(chunk)
    ends = [e for e in seen.ends if e > start]
    if not ends:
        raise CorruptArchive("carved zip has no end record")
    return ends[-1]


def read_item(ref: ItemRef, max_bytes: int = 1 << 30) -> bytes:
    """An item's bytes (for evidence and previews), at most `max_bytes`."""
    with opened(ref) as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{ref.label} is larger than {max_bytes:,} bytes")
    return data


def find_member(parent: ItemRef, name: str) -> ItemRef:
    """The first member of `parent` with this name (for labels typed by people)."""
    with ExitStack() as stack:
        if parent.members:
            container = stack.enter_context(spilled(stack.enter_context(opened(parent))))
        else:
            container = parent.fs_path
        head = open(container, "rb").read(512)  # noqa: SIM115
        kind = archive_kind(parent.name, head, container)
        if kind is None:
            raise FileNotFoundError(f"{parent.label} is not an archive")
        for entry in members(container, kind, parent, Budget(Limits())):
            if entry.ref.members[-1].name == name:
                return entry.ref
    raise FileNotFoundError(f"no member {name!r} in {parent.label}")
