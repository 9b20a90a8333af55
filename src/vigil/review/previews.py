"""Review previews: small, greyscale and blurred unless a reviewer explicitly unblurs (audited)."""

from __future__ import annotations

import io

from PIL import Image, ImageFilter, ImageOps

from vigil.media import decode as media
from vigil.media import video as videos

PREVIEW_SIDE = 320
BLUR_RADIUS = 14


def _first_frame(data: bytes) -> Image.Image | None:
    try:
        with videos._open(data) as container:
            for frame in container.decode(container.streams.video[0]):
                image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
                return image
    except (videos.CorruptVideo, IndexError, OSError, ValueError):
        return None
    return None


def render(data: bytes, name: str, *, blurred: bool = True) -> bytes:
    """A JPEG preview; a neutral grey tile when the content cannot be decoded."""
    image: Image.Image | None
    if videos.looks_like_video(name, data[:16]):
        image = _first_frame(data)
    else:
        try:
            image = Image.fromarray(media.decode(data, "exact"))
        except (media.NotAnImage, media.CorruptImage):
            image = None
    if image is None:
        image = Image.new("L", (PREVIEW_SIDE, PREVIEW_SIDE), 128)
    image = ImageOps.grayscale(image)
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    if blurred:
        image = image.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()
