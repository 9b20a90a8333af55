"""Hash one scan unit (a top-level file, and every member if it is or holds an archive), streaming.

Exact hashes are computed chunk by chunk, so a file of any size costs one buffer. Only an image small
enough to decode (`Limits.max_image_bytes`, `Limits.max_pixels`) is kept in memory; an archive or a
video inside an archive is copied to a temporary file, never held. Members are hashed depth-first and
a container's own result is emitted after its members, so a finished container means a finished
subtree (what resume relies on). A decompression bomb stops the unit with what was hashed so far.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO

from vigil.media import decode as media
from vigil.media.archives import (
    CHUNK,
    Bomb,
    Budget,
    CorruptArchive,
    Entry,
    Limits,
    Signatures,
    archive_kind,
    carve,
    claims_zip,
    members,
)
from vigil.media.video import CorruptVideo, looks_like_video
from vigil.media.walk import ItemRef, Listed, Member
from vigil.signals import vpdq
from vigil.signals.compute import FileSignals, image_pdq

Emit = Callable[[FileSignals | Listed], None]
Started = Callable[[ItemRef], None]
Classify = Callable[[bytes], list[tuple[str, str, str, float]]]


@dataclass(frozen=True)
class HashSettings:
    mode: media.Mode = "fast"
    seconds_per_hash: float = 1.0
    limits: Limits = field(default_factory=Limits)
    normalise: bool = True  # also hash the content region and small counter-rotations (fast mode)
    regions_of_known: bool = False  # also hash crops, halves and quadrants (building a list from files)


class _Digests:
    def __init__(self) -> None:
        self.md5, self.sha1, self.sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.sha1.update(chunk)
        self.sha256.update(chunk)
        self.size += len(chunk)

    def signals(self, ref: ItemRef) -> FileSignals:
        found = FileSignals(
            ref.label, self.size, self.md5.hexdigest(), self.sha1.hexdigest(), self.sha256.hexdigest()
        )
        found.ref = ref.to_json()
        return found


def _consume(
    stream: IO[bytes], keep: int, spill: IO[bytes] | None, seen: Signatures | None
) -> tuple[_Digests, bytes | None]:
    """Hash a stream to its end; keep its bytes when they fit in `keep`, copy them to `spill`."""
    digests = _Digests()
    kept: list[bytes] | None = [] if keep > 0 else None
    while chunk := stream.read(CHUNK):
        digests.update(chunk)
        if kept is not None:
            if digests.size <= keep:
                kept.append(chunk)
            else:
                kept = None
        if spill is not None:
            spill.write(chunk)
        if seen is not None:
            seen.feed(chunk)
    return digests, b"".join(kept) if kept is not None else None


def _is_image(name: str, head: bytes) -> bool:
    """By content, else by suffix unless the content says archive (a zip named .jpg is not an image)."""
    if media.claimed_format(head) is not None:
        return True
    return PurePath(name).suffix.lower() in media.IMAGE_SUFFIXES and not claims_zip(head)


class UnitHasher:
    """Hashes one unit, emitting every item (members before their container) through `emit`."""

    def __init__(
        self,
        settings: HashSettings,
        emit: Emit,
        started: Started | None = None,
        skip: frozenset[str] = frozenset(),
        classify: Classify | None = None,
        frames: vpdq.FrameProgress | None = None,
        expand: bool = True,
    ) -> None:
        self.settings, self.emit, self.skip, self.expand = settings, emit, skip, expand
        self.started = started or (lambda _ref: None)
        self.classify, self.frames = classify, frames
        self.budget = Budget(settings.limits)

    # ---------------------------------------------------------------- entry point
    def hash_file(self, ref: ItemRef) -> None:
        """A top-level file on disk; `changed during read` when its size or mtime moved meanwhile."""
        path = ref.fs_path
        self.started(ref)
        try:
            before = os.stat(path)
            with open(path, "rb") as handle:
                head = handle.read(512)
                handle.seek(0)
                keep = self.settings.limits.max_image_bytes if _is_image(ref.name, head) else 0
                seen = Signatures()
                digests, kept = _consume(handle, keep, None, seen)
            after = os.stat(path)
        except OSError as exc:
            self.emit(_unreadable(ref, f"cannot read: {exc.strerror or exc}"))
            return
        except MemoryError:
            self.emit(_unreadable(ref, "out of memory"))
            return
        signals = digests.signals(ref)
        self._content(signals, ref, head, kept, path)
        try:
            if self.expand:
                self._container(signals, ref, head, path, seen)
        except Bomb as exc:
            signals.error = _join(signals.error, f"possible decompression bomb: {exc}")
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            signals.error = _join(
                signals.error, f"changed during read (size {before.st_size:,} -> {after.st_size:,} bytes)"
            )
        self.emit(signals)

    # ---------------------------------------------------------------- content signals
    def _content(
        self, signals: FileSignals, ref: ItemRef, head: bytes, kept: bytes | None, path: str | None
    ) -> None:
        """PDQ for an image that fits the limits, vPDQ for a video (read from `path`)."""
        settings = self.settings
        if looks_like_video(ref.name, head[:16]):
            signals.media_type = "video"
            if path is None:
                signals.error = "video inside an archive was not decoded"
                return
            try:
                video = vpdq.hash_video(
                    path, seconds_per_hash=settings.seconds_per_hash, mode=settings.mode, progress=self.frames
                )
                signals.video, signals.error = video, video.error
            except (CorruptVideo, ValueError) as exc:
                signals.error = str(exc)
            return
        if not _is_image(ref.name, head):
            return
        signals.media_type = "image"
        if kept is None:
            limit = settings.limits.max_image_bytes
            signals.error = f"image file over {limit:,} bytes: exact hashes only"
            return
        try:
            decoded = media.decode_upright(kept, settings.mode, settings.limits.max_pixels)
        except media.NotAnImage:
            signals.error = "has an image file name but is not a readable image"
            return
        except media.CorruptImage as exc:
            signals.error = str(exc)
            return
        image_pdq(
            signals,
            decoded.pixels,
            settings.mode,
            normalise=settings.normalise,
            orientation=decoded.orientation,
            regions_of_known=settings.regions_of_known,
        )
        if self.classify is not None:
            try:
                signals.scores = self.classify(kept)
            except Exception as exc:  # a model failure must not lose the item's hashes
                signals.error = _join(signals.error, f"classifier failed: {exc!r}")

    # ---------------------------------------------------------------- archives
    def _container(
        self, signals: FileSignals, ref: ItemRef, head: bytes, path: str, seen: Signatures
    ) -> None:
        """Members of an archive in `path`, or of a zip carved out of it; errors go on `signals`."""
        kind = archive_kind(ref.name, head, path)
        if kind is not None:
            signals.media_type = "archive" if signals.media_type == "other" else signals.media_type
            self._members(signals, path, kind, ref)
            return
        span = seen.carvable()
        if span is None:
            if claims_zip(head):
                signals.error = _join(signals.error, "corrupt archive: no end-of-central-directory record")
            return
        start, end = span
        carved_ref = ref.child(Member("carved", start, f"[zip at byte {start}]"))
        with tempfile.NamedTemporaryFile(prefix="vigil-carved-") as target, open(path, "rb") as source:
            carve(source, start, end, target)
            self.started(carved_ref)
            if not zipfile.is_zipfile(target.name):
                if start == 0:
                    signals.error = _join(signals.error, "corrupt archive: its end record does not open")
                return
            with open(target.name, "rb") as again:
                carved, _ = _consume(again, 0, None, None)
            carved_signals = carved.signals(carved_ref)
            carved_signals.media_type = "archive"
            try:
                self._members(carved_signals, target.name, "zip", carved_ref)
            finally:
                self.emit(carved_signals)

    def _members(self, signals: FileSignals, container: str, kind: str, parent: ItemRef) -> None:
        try:
            for entry in members(container, kind, parent, self.budget):
                if entry.ref.key in self.skip:
                    continue
                if isinstance(entry, Listed):
                    self.started(entry.ref)
                    self.emit(entry)
                else:
                    self._member(entry)
        except CorruptArchive as exc:
            signals.error = _join(signals.error, str(exc))
        except Bomb:
            signals.error = _join(signals.error, "possible decompression bomb (a member exceeded a limit)")
            raise

    def _member(self, entry: Entry) -> None:
        ref = entry.ref
        self.started(ref)
        stream = entry.stream
        head = stream.peek(512)[:512] if isinstance(stream, io.BufferedReader) else b""
        nested = archive_kind(ref.name, head) is not None or looks_like_video(ref.name, head[:16])
        keep = self.settings.limits.max_image_bytes if not nested and _is_image(ref.name, head) else 0
        with ExitStack() as stack:
            spill = (
                stack.enter_context(tempfile.NamedTemporaryFile(prefix="vigil-member-")) if nested else None
            )
            try:
                digests, kept = _consume(stream, keep, spill, None)
            except Bomb as exc:
                self.emit(_unreadable(ref, f"possible decompression bomb: {exc}"))
                raise
            except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
                self.emit(_unreadable(ref, f"cannot read archive member: {exc}"))
                return
            signals = digests.signals(ref)
            try:  # the member is emitted after its own members, also when a bomb stops them
                if spill is not None:
                    spill.flush()
                    self._content(signals, ref, head, None, spill.name)
                    kind = archive_kind(ref.name, head, spill.name)
                    if kind is not None:
                        signals.media_type = "archive"
                        self._members(signals, spill.name, kind, ref)
                else:
                    self._content(signals, ref, head, kept, None)
                    if kept is not None and zipfile.is_zipfile(io.BytesIO(kept)):
                        inner = stack.enter_context(tempfile.NamedTemporaryFile(prefix="vigil-member-"))
                        inner.write(kept)
                        inner.flush()
                        self._members(signals, inner.name, "zip", ref)
            finally:
                self.emit(signals)


def _unreadable(ref: ItemRef, reason: str) -> Listed:
    return Listed(ref, reason, unreadable=True)


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second


def hash_unit(
    ref: ItemRef,
    settings: HashSettings,
    *,
    skip: frozenset[str] = frozenset(),
    classify: Classify | None = None,
) -> list[FileSignals | Listed]:
    """Every item of one unit, collected (for Dask workers and tests)."""
    out: list[FileSignals | Listed] = []
    UnitHasher(settings, out.append, skip=skip, classify=classify).hash_file(ref)
    return out


def hash_item(
    ref: ItemRef, mode: media.Mode, seconds_per_hash: float = 1.0, *, regions_of_known: bool = False
) -> FileSignals:
    """One file's own signals (its members, if any, are not expanded); never raises."""
    found: list[FileSignals] = []

    def keep_own(result: FileSignals | Listed) -> None:
        if isinstance(result, Listed):
            found.append(FileSignals(ref.label, 0, "", "", "", error=result.reason))
        elif result.key == ref.key:
            found.append(result)

    settings = HashSettings(mode, seconds_per_hash, regions_of_known=regions_of_known)
    UnitHasher(settings, keep_own, expand=False).hash_file(ref)
    return found[-1]
