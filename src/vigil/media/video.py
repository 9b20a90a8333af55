"""Video decoding with PyAV (FFmpeg): container opening, the luma plane without conversion, bars.

Hashing the decoded frames (vPDQ) is `vigil.signals.vpdq`; this module only turns bytes or a path into
frames and tells where letterbox or pillarbox bars sit.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vigil.core.errors import VigilError

if TYPE_CHECKING:  # PyAV (15 MiB once imported) loads on the first video, not in every process
    import av

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".3gp"}
)


class CorruptVideo(VigilError):
    """The container or stream cannot be decoded at all."""


def looks_like_video(name: str, head: bytes) -> bool:
    """By suffix or container signature (ISO BMFF `ftyp`, Matroska/WebM, AVI)."""
    if Path(name).suffix.lower() in VIDEO_SUFFIXES:
        return True
    if head[4:8] == b"ftyp" and head[8:12] not in (b"heic", b"heix", b"mif1", b"heif", b"avif"):
        return True
    return head.startswith(b"\x1a\x45\xdf\xa3") or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")


def luma_plane(frame: av.VideoFrame) -> tuple[np.ndarray, bool]:
    """The Y plane without a copy or colour conversion, and whether it is limited range (16-235)."""
    if frame.format.name in ("yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "nv12"):
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(frame.height, plane.line_size)
        full = frame.format.name.startswith("yuvj") or int(getattr(frame, "color_range", 1) or 1) == 2
        return rows[:, : frame.width], not full
    return frame.to_ndarray(format="gray"), False


BAR_LEVEL = 40  # luma at or below this (limited or full range) counts as black bar
MIN_BAR_SHARE = 0.02
BAR_SAMPLE_FRAMES = 60


def _bars(luma: np.ndarray) -> tuple[int, int, int, int]:
    cols = luma.max(axis=0) <= BAR_LEVEL
    rows = luma.max(axis=1) <= BAR_LEVEL
    return _run(rows), _run(rows[::-1]), _run(cols), _run(cols[::-1])


def _run(flags: np.ndarray) -> int:
    """Length of the leading run of True."""
    stop = np.flatnonzero(~flags)
    return int(stop[0]) if stop.size else int(flags.size)


def detect_bars(source: str | Path | bytes) -> tuple[int, int, int, int] | None:
    """Letterbox/pillarbox bars present in all of the first frames, as a crop box, or None.

    Bars added by re-encoding (SD versions of HD clips, say) move the picture on PDQ's grid like
    padding does, so a query is also hashed inside them.
    """
    found: np.ndarray | None = None
    import av

    height = width = 0
    try:
        with open_container(source) as container:
            stream = container.streams.video[0]
            for number, frame in enumerate(container.decode(stream)):
                luma, _limited = luma_plane(frame)
                height, width = luma.shape
                bars = np.asarray(_bars(luma))
                found = bars if found is None else np.minimum(found, bars)
                if number + 1 >= BAR_SAMPLE_FRAMES:
                    break
    except (av.FFmpegError, ValueError, OSError, IndexError, CorruptVideo):
        return None
    if found is None:
        return None
    top, bottom, left, right = (int(v) for v in found)
    if top + bottom >= height * 0.9 or left + right >= width * 0.9:
        return None  # an all-dark opening, not bars
    if max(top + bottom, 0) < height * MIN_BAR_SHARE and max(left + right, 0) < width * MIN_BAR_SHARE:
        return None
    return top, height - bottom, left, width - right


def open_container(source: str | Path | bytes) -> av.container.InputContainer:
    import av

    try:
        return av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise CorruptVideo(f"cannot open video: {exc}") from exc


def frames(container: av.container.InputContainer, stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    yield from container.decode(stream)


def first_frame_rgb(data: bytes) -> np.ndarray | None:
    """The first decodable frame as RGB (for previews), or None."""
    import av

    try:
        with open_container(data) as container:
            for frame in container.decode(container.streams.video[0]):
                return frame.to_ndarray(format="rgb24")
    except (CorruptVideo, IndexError, OSError, ValueError, av.FFmpegError):
        return None
    return None
