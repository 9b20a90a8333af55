"""Everything Vigil derives from one file's bytes, as a plain picklable record for process pools."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any

from vigil.media import decode as media
from vigil.media.video import CorruptVideo, looks_like_video
from vigil.signals import features, known_regions, pdq, regions, types, vpdq


@dataclass
class FileSignals:
    """Hashes of one item. `error` is set when the item could not be fully hashed."""

    path: str
    size: int
    md5: str
    sha1: str
    sha256: str
    media_type: str = "other"
    pdq: str | None = None
    pdq_quality: int | None = None
    pdq_dihedral: tuple[str, ...] = field(default_factory=tuple)
    # the hash of the pixels as stored, when an EXIF orientation other than 1 turned them upright for
    # `pdq` (Meta's C++ hasher and python-threatexchange hash as stored); with its orientation
    pdq_as_stored: str | None = None
    exif_orientation: int = 1
    # query-side normalisation (fast mode): (variant name, PDQ) of the content inside borders,
    # bars and bands and of small counter-rotations (`vigil.signals.regions`)
    pdq_variants: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # list side, for lists Vigil builds from files: (region, PDQ, quality) of crops, halves and
    # quadrants of the picture (`vigil.signals.known_regions`)
    pdq_regions: tuple[tuple[str, str, int], ...] = field(default_factory=tuple)
    # list side too: ORB keypoints of the picture (points, descriptors), to check weak matches
    features: tuple[bytes, bytes] | None = None
    video: vpdq.VideoHash | None = None
    scores: list[tuple[str, str, str, float]] = field(default_factory=list)  # model, version, name, score
    error: str | None = None
    ref: str | None = None  # the item's reference (`ItemRef.to_json`) when it came from a scan

    @property
    def key(self) -> str:
        from vigil.media.walk import ItemRef

        return ItemRef.from_json(self.ref).key if self.ref else self.path

    def hashes(self) -> dict[str, str]:
        """Every value this file has of a registered signal type (exact digests, then PDQ...)."""
        return {kind.name: value for kind in types.of_file() if (value := kind.of_file(self))}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pdq_dihedral"] = list(self.pdq_dihedral)
        data["pdq_variants"] = [list(v) for v in self.pdq_variants]
        data["pdq_regions"] = [list(v) for v in self.pdq_regions]
        data.pop("features")  # keypoint bytes: kept with a list entry, not shown
        if self.video is not None:
            data["video"] = {
                "fps": self.video.fps,
                "width": self.video.width,
                "height": self.video.height,
                "frames": [f.line() for f in self.video.frames],
                "error": self.video.error,
            }
        return data


def crypto_hashes(data: bytes) -> tuple[str, str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


def compute(
    path: str,
    data: bytes,
    mode: media.Mode = "fast",
    *,
    seconds_per_hash: float = 1.0,
    video_source: str | None = None,
    video_progress: vpdq.FrameProgress | None = None,
    max_pixels: int = media.DEFAULT_MAX_PIXELS,
) -> FileSignals:
    """Exact hashes always; PDQ (with dihedral variants) for images; vPDQ frames for videos.

    A corrupt image or video keeps its exact hashes, so it can still match MD5/SHA lists, and
    carries the decoder's reason in `error`. `video_source` lets PyAV read a file from disk
    instead of from the in-memory bytes.
    """
    md5, sha1, sha256 = crypto_hashes(data)
    signals = FileSignals(path=path, size=len(data), md5=md5, sha1=sha1, sha256=sha256)
    name = path.rsplit("!", 1)[-1]
    if looks_like_video(name, data[:16]):
        signals.media_type = "video"
        try:
            signals.video = vpdq.hash_video(
                video_source or data, seconds_per_hash=seconds_per_hash, mode=mode, progress=video_progress
            )
            signals.error = signals.video.error
        except CorruptVideo as exc:
            signals.error = str(exc)
        return signals
    try:
        decoded = media.decode_upright(data, mode, max_pixels)
    except media.NotAnImage:
        if PurePath(name).suffix.lower() in media.IMAGE_SUFFIXES:
            signals.media_type = "image"
            signals.error = "has an image file name but is not a readable image"
        return signals
    except media.CorruptImage as exc:
        signals.media_type = "image"
        signals.error = str(exc)
        return signals
    signals.media_type = "image"
    image_pdq(signals, decoded.pixels, mode, orientation=decoded.orientation)
    return signals


def warm_up() -> None:
    """Hash a small generated picture, so that what a process loads or builds on its first
    picture (OpenCV, the PNG decoder, PDQ's filter and DCT tables) is ready before a real one
    comes (`vigil.signals.worker`)."""
    import io

    import numpy as np
    from PIL import Image

    rows, columns = np.indices((96, 128))
    picture = np.full((96, 128), 255, dtype=np.uint8)  # a white border round a gradient
    picture[8:-8, 8:-8] = ((rows + columns) % 256)[8:-8, 8:-8]
    encoded = io.BytesIO()
    Image.fromarray(picture).save(encoded, "PNG")
    compute("warm-up.png", encoded.getvalue())


def image_pdq(
    signals: FileSignals,
    pixels: Any,
    mode: media.Mode,
    *,
    normalise: bool = True,
    orientation: int | None = None,
    regions_of_known: bool = False,
) -> None:
    """PDQ with its dihedral variants; in fast mode (scans) also the normalised query variants.
    Exact mode (building lists with the reference hasher) hashes the file as it is.
    With the EXIF `orientation` the pixels were turned upright from, also the as-stored hash;
    with `regions_of_known`, the region hashes a list Vigil builds keeps beside the picture's."""
    if mode != "fast":
        result = pdq.exact(pixels)
    else:
        gray = pdq.gray8(pixels)
        result = pdq.fast_from_gray(gray)
        signals.pdq_variants = regions.variants(gray) if normalise else ()
    signals.pdq, signals.pdq_quality, signals.pdq_dihedral = result.hash_hex, result.quality, result.dihedral
    if regions_of_known:
        work = regions.work_copy(pdq.gray8(pixels))  # one copy for region hashes and keypoints
        parts = known_regions.region_hashes(work)
        signals.pdq_regions = parts + known_regions.turned(result.dihedral, result.quality)
        signals.features = features.orb(work).to_bytes()
    if orientation is not None:
        signals.exif_orientation = orientation
        signals.pdq_as_stored = pdq.as_stored(signals.pdq_dihedral, signals.exif_orientation)
