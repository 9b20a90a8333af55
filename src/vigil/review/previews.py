"""Review previews: small, greyscale and blurred unless a reviewer explicitly unblurs (audited)."""

from __future__ import annotations

import io

from PIL import Image, ImageFilter, ImageOps

from vigil.media import decode as media
from vigil.media.video import first_frame_rgb, looks_like_video

PREVIEW_SIDE = 320
BLUR_RADIUS = 14


PEEK_SHARE = 0.3  # a peek shows a square this share of the preview's shorter side


def render(
    data: bytes,
    name: str,
    *,
    blurred: bool = True,
    blur: int = BLUR_RADIUS,
    greyscale: bool = True,
    side: int = PREVIEW_SIDE,
    peek: tuple[float, float] | None = None,
) -> bytes:
    """A JPEG preview at most `side` pixels; a neutral grey tile when the content cannot be decoded.

    `peek` (fractions of width and height) shows one small square around that spot unblurred.
    """
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
        image = Image.new("L", (side, side), 128)
    image = ImageOps.grayscale(image) if greyscale else image.convert("RGB")
    image.thumbnail((side, side))
    if blurred:
        clear = image
        image = image.filter(ImageFilter.GaussianBlur(blur))
        if peek is not None:
            half = max(8, int(min(image.size) * PEEK_SHARE / 2))
            x, y = int(peek[0] * image.width), int(peek[1] * image.height)
            box = (
                max(0, x - half),
                max(0, y - half),
                min(image.width, x + half),
                min(image.height, y + half),
            )
            image.paste(clear.crop(box), box[:2])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()
