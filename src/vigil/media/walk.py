"""Scan items and how they are named: raw file paths plus archive members addressed by position.

A name on disk is bytes, and need not be valid UTF-8; an archive may hold two members with the same
name, and a name may contain `!`. So an item's identity (`ItemRef.key`) is its raw path bytes plus, for
each archive level, the member's position in that archive. The label people read is derived from it
(undecodable bytes shown as `\\xNN`), never parsed back. The same reference travels from the scan to
review items and the evidence vault, which re-open the item through it.

`walk` lists the top-level entries under a root without following anything: symbolic links, special
files (FIFOs, sockets, devices) and folders that cannot be listed become `Listed` entries with their
reason instead of being read or silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ARCHIVE_SEP = "!"


def display(raw: bytes) -> str:
    """Bytes as text for people and databases: valid UTF-8 as is, other bytes as `\\xNN` escapes."""
    return raw.decode("utf-8", "backslashreplace")


def display_name(name: str) -> str:
    """An archive member name (possibly carrying surrogate escapes) as storable text."""
    return display(name.encode("utf-8", "surrogateescape"))


@dataclass(frozen=True)
class Member:
    """One archive level: the container kind, the member's position in it, and its name for display."""

    kind: str  # zip | tar | carved (a zip found inside another file; index is its byte offset)
    index: int
    name: str


@dataclass(frozen=True)
class ItemRef:
    path: bytes
    members: tuple[Member, ...] = ()

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> ItemRef:
        return cls(os.fsencode(path))

    @property
    def fs_path(self) -> str:
        return os.fsdecode(self.path)

    @property
    def label(self) -> str:
        return ARCHIVE_SEP.join([display(self.path), *(m.name for m in self.members)])

    @property
    def name(self) -> str:
        """The last component's name (file name or member name), for type guesses by suffix."""
        return self.members[-1].name if self.members else display(os.path.basename(self.path))

    def child(self, member: Member) -> ItemRef:
        return ItemRef(self.path, (*self.members, member))

    def to_json(self) -> str:
        return json.dumps([self.path.hex(), [[m.kind, m.index, m.name] for m in self.members]])

    @classmethod
    def from_json(cls, text: str) -> ItemRef:
        raw, members = json.loads(text)
        return cls(bytes.fromhex(raw), tuple(Member(k, int(i), n) for k, i, n in members))

    @property
    def key(self) -> str:
        """Stable identity within a scan (what resume and de-duplication compare)."""
        return hashlib.sha1(self.to_json().encode()).hexdigest()

    @property
    def top(self) -> ItemRef:
        return ItemRef(self.path)


@dataclass(frozen=True)
class Listed:
    """An entry that is reported but not read: a link, a special file, a folder that cannot be listed."""

    ref: ItemRef
    reason: str
    unreadable: bool = False  # True: an error (permissions); False: skipped by design (links, FIFOs)


def _special(mode: int) -> str | None:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return None


def _entry(path: str) -> Iterator[ItemRef | Listed]:
    """One directory entry that is not a folder to descend into."""
    ref = ItemRef.of(path)
    try:
        info = os.lstat(path)
    except OSError as exc:
        yield Listed(ref, f"cannot stat: {exc.strerror or exc}", unreadable=True)
        return
    if stat.S_ISLNK(info.st_mode):
        try:
            target = display(os.fsencode(os.readlink(path)))
        except OSError:
            target = "?"
        yield Listed(ref, f"symbolic link to {target} (not followed)")
    elif (kind := _special(info.st_mode)) is not None:
        yield Listed(ref, f"special file ({kind}), not read")
    else:
        yield ref


def walk(root: Path) -> Iterator[ItemRef | Listed]:
    """Every entry under root (or root itself), sorted by name, descending into real folders only."""
    top = os.fspath(root)
    if not os.path.isdir(top) or os.path.islink(top):
        yield from _entry(top)
        return
    yield from _walk_dir(top)


def _walk_dir(folder: str) -> Iterator[ItemRef | Listed]:
    try:
        with os.scandir(folder) as entries:
            names = sorted(entries, key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Listed(ItemRef.of(folder), f"cannot list folder: {exc.strerror or exc}", unreadable=True)
        return
    for entry in names:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk_dir(entry.path)
        else:
            yield from _entry(entry.path)


def resolve_label(label: str) -> ItemRef:
    """`a.zip!dir/b.jpg` typed by a person: the longest existing file prefix, then members by name.

    Names are ambiguous where they contain `!` or repeat inside an archive; stored references never
    go through this, only command-line arguments do.
    """
    from vigil.media.archives import find_member

    parts = label.split(ARCHIVE_SEP)
    for cut in range(len(parts), 0, -1):
        head = ARCHIVE_SEP.join(parts[:cut])
        if os.path.isfile(head):
            ref = ItemRef.of(head)
            for name in parts[cut:]:
                ref = find_member(ref, name)
            return ref
    raise FileNotFoundError(f"no such file: {label}")
