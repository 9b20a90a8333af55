"""vPDQ video hashing: a PDQ hash (with quality and timestamp) for every selected frame.

Decoding is `vigil.media.video` (PyAV). `fast` mode hashes the decoded Y plane directly with the
vectorised PDQ (no colour conversion, limited-range luma rescaled to full range after the 64x64
reduction); `exact` mode converts each frame to RGB24 like the reference `vpdq` and hashes it with
`pdqhash`. Frame selection and timestamps follow the reference: every
`round-down(seconds_per_hash * fps)`-th decoded frame, timestamp = frame number / fps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vigil.media.decode import Mode
from vigil.media.video import CorruptVideo, detect_bars, frames, luma_plane, open_container
from vigil.signals import pdq

if TYPE_CHECKING:
    import av

FrameProgress = Callable[[int, int], None]  # (frames decoded, frames expected or 0)
REGIONS = ("left", "right", "top", "bottom")


@dataclass(frozen=True)
class FrameHash:
    frame: int
    quality: int
    pdq: str
    timestamp: float

    def line(self) -> str:
        return f"{self.frame},{self.quality},{self.pdq},{self.timestamp:.3f}"


@dataclass
class VideoHash:
    """Per-frame hashes; `error` is set when decoding stopped early (frames so far are kept)."""

    frames: list[FrameHash]
    fps: float
    width: int = 0
    height: int = 0
    error: str | None = None
    crop: tuple[int, int, int, int] | None = None  # top, bottom, left, right of the picture inside bars
    cropped: list[FrameHash] = field(default_factory=list)  # frames hashed inside the bars, if any
    regions: dict[str, list[FrameHash]] = field(default_factory=dict)  # half-pictures, by REGIONS name

    @property
    def duration(self) -> float:
        return self.frames[-1].timestamp if self.frames else 0.0

    def to_text(self) -> str:
        return "".join(f.line() + "\n" for f in self.frames)


def parse_text(lines: Iterable[str], where: str = "vpdq") -> list[FrameHash]:
    """The reference text format, one `frame,quality,pdqhex,timestamp` per line."""
    out = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError(f"{where}:{number}: expected frame,quality,pdqhex,timestamp")
        frame, quality, value, stamp = parts
        try:
            pdq.hex_to_bytes(value)
            out.append(FrameHash(int(frame), int(quality), value.lower(), float(stamp)))
        except ValueError as exc:
            raise ValueError(f"{where}:{number}: {exc}") from None
    return out


def _halves(picture: np.ndarray) -> dict[str, np.ndarray]:
    height, width = picture.shape[:2]
    return {
        "left": picture[:, : width // 2],
        "right": picture[:, width // 2 :],
        "top": picture[: height // 2],
        "bottom": picture[height // 2 :],
    }


@dataclass
class _FrameHashes:
    whole: pdq.PdqResult
    inner: pdq.PdqResult | None  # inside black bars, when there are bars
    regions: dict[str, pdq.PdqResult]  # halves of the picture (inside bars, if any)


def _hash_frame(
    frame: av.VideoFrame, mode: Mode, crop: tuple[int, int, int, int] | None, regions: bool
) -> _FrameHashes:
    """Hashes of one frame: whole, inside bars, and (optionally) the four half-pictures.

    A large logo or caption covers one part of the picture; the halves it leaves alone still
    match, so known videos and queries both carry half-picture hashes.
    """
    if mode == "exact":
        pixels, limited = frame.to_ndarray(format="rgb24"), False

        def hash_of(part: np.ndarray) -> pdq.PdqResult:
            return pdq.exact(part, dihedral=False)

    else:
        pixels, limited = luma_plane(frame)

        def hash_of(part: np.ndarray) -> pdq.PdqResult:
            return pdq.fast_from_gray(part, dihedral=False, limited_range=limited)

    picture = pixels[crop[0] : crop[1], crop[2] : crop[3]] if crop else pixels
    halves = {name: hash_of(part) for name, part in _halves(picture).items()} if regions else {}
    return _FrameHashes(hash_of(pixels), hash_of(picture) if crop else None, halves)


def hash_video(
    source: str | Path | bytes,
    *,
    seconds_per_hash: float = 1.0,
    mode: Mode = "fast",
    progress: FrameProgress | None = None,
    regions: bool = True,
) -> VideoHash:
    """Hash a video; seconds_per_hash=0 hashes every frame (the reference files do)."""
    import av  # loaded with the first video (most processes never see one)

    if seconds_per_hash < 0:
        raise ValueError("seconds_per_hash must be >= 0")
    crop = detect_bars(source)
    container = open_container(source)
    with container:
        if not container.streams.video:
            raise CorruptVideo("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if fps <= 0:
            raise CorruptVideo("video has no frame rate")
        every = max(int(seconds_per_hash * fps), 1)
        expected = int(stream.frames or 0)
        result = VideoHash([], fps, stream.codec_context.width, stream.codec_context.height, crop=crop)
        decoded = 0
        try:
            for number, frame in enumerate(frames(container, stream)):
                decoded = number + 1
                if number % every == 0:
                    hashed = _hash_frame(frame, mode, crop, regions)
                    stamp = number / fps
                    result.frames.append(
                        FrameHash(number, hashed.whole.quality, hashed.whole.hash_hex, stamp)
                    )
                    if hashed.inner is not None:
                        inner = hashed.inner
                        result.cropped.append(FrameHash(number, inner.quality, inner.hash_hex, stamp))
                    for name, part in hashed.regions.items():
                        result.regions.setdefault(name, []).append(
                            FrameHash(number, part.quality, part.hash_hex, stamp)
                        )
                if progress and number % 30 == 0:
                    progress(number, expected)
        except (av.FFmpegError, ValueError, OSError) as exc:
            result.error = f"decoding stopped after {decoded} frames: {exc}"
        if result.error is None and expected and decoded < expected:
            result.error = f"decoding stopped after {decoded} of {expected} frames (truncated file?)"
        if not result.frames and result.error is None:
            result.error = "no decodable frames"
        return result
