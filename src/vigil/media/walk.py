"""Enumerate scan items: files under a folder and, recursively, members of zip and tar archives.

An item is referred to by its file path plus the chain of archive members leading to it, so a
worker process can read it itself instead of the parent shipping bytes around.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vigil.core.errors import ItemError

ARCHIVE_SEP = "!"
MAX_NESTING = 4
MAX_MEMBER_BYTES = 2 << 30  # refuse to inflate a single member beyond 2 GiB (zip bombs)


@dataclass(frozen=True)
class ItemRef:
    path: str
    members: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return ARCHIVE_SEP.join((self.path, *self.members))

    @classmethod
    def from_label(cls, label: str) -> ItemRef:
        """The inverse of `label`: `a.zip!dir/b.jpg` names member `dir/b.jpg` of `a.zip`."""
        head, *members = label.split(ARCHIVE_SEP)
        return cls(head, tuple(members))


def _archive_kind(name: str, head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    lowered = name.lower()
    if lowered.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")):
        return "tar"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _members(name: str, data: bytes) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(member name, bytes or None, error) for each regular member of an archive in memory."""
    kind = _archive_kind(name, data[:512])
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    yield info.filename, None, "member too large to inflate"
                    continue
                try:
                    yield info.filename, archive.read(info), None
                except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, NotImplementedError) as exc:
                    yield info.filename, None, f"cannot read archive member: {exc}"
    elif kind == "tar":
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive:
                if not member.isfile():
                    continue
                try:
                    handle = archive.extractfile(member)
                    yield member.name, handle.read() if handle else b"", None
                except (tarfile.TarError, OSError, EOFError) as exc:
                    yield member.name, None, f"cannot read archive member: {exc}"


def is_archive(name: str, head: bytes) -> bool:
    return _archive_kind(name, head) is not None


def read_item(ref: ItemRef) -> bytes:
    """The bytes of an item, opening each archive on the way."""
    data = Path(ref.path).read_bytes()
    for depth, wanted in enumerate(ref.members):
        for name, content, error in _members(ref.members[depth - 1] if depth else ref.path, data):
            if name == wanted:
                if content is None:
                    raise OSError(error or "unreadable member")
                data = content
                break
        else:
            raise FileNotFoundError(f"member {wanted!r} not found")
    return data


def walk(root: Path) -> Iterator[ItemRef | ItemError]:
    """Every file under root (or root itself), then members of any archive among them."""
    paths = [root] if root.is_file() else sorted(_files(root))
    for path in paths:
        ref = ItemRef(str(path))
        yield ref
        try:
            with path.open("rb") as handle:
                head = handle.read(512)
        except OSError as exc:
            yield ItemError(str(path), f"cannot read: {exc.strerror or exc}")
            continue
        if is_archive(path.name, head):
            yield from _walk_archive(ref, path.read_bytes(), path.name, 1)


def _files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root, onerror=None):
        dirs.sort()
        for name in files:
            full = Path(folder, name)
            if full.is_file() and not full.is_symlink():
                yield full


def _walk_archive(parent: ItemRef, data: bytes, name: str, depth: int) -> Iterator[ItemRef | ItemError]:
    try:
        members = list(_members(name, data))
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, ValueError) as exc:
        yield ItemError(parent.label, f"corrupt archive: {exc}")
        return
    for member, content, error in members:
        ref = ItemRef(parent.path, (*parent.members, member))
        if error is not None or content is None:
            yield ItemError(ref.label, error or "unreadable member")
            continue
        yield ref
        if depth < MAX_NESTING and is_archive(member, content[:512]):
            yield from _walk_archive(ref, content, member, depth + 1)
