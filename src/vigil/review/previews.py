"""Review previews: small, greyscale and blurred unless a reviewer explicitly unblurs (audited)."""

from __future__ import annotations

import io

from PIL import Image, ImageFilter, ImageOps

from vigil.media import decode as media
from vigil.media.video import first_frame_rgb, looks_like_video

PREVIEW_SIDE = 320
BLUR_RADIUS = 14


def render(data: bytes, name: str, *, blurred: bool = True) -> bytes:
    """A JPEG preview; a neutral grey tile when the content cannot be decoded."""
    image: Image.Image | None = None
    if looks_like_video(name, data[:16]):
        frame = first_frame_rgb(data)
        image = Image.fromarray(frame) if frame is not None else None
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
