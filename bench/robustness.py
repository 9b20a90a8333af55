"""Robustness of PDQ matching to common edits, on benign BSDS500 photos.

250 images (every other one) are the known list, hashed with the reference (exact mode); the other
250 are never-seen negatives. Each image is edited, saved as a file, and hashed the way `vigil scan`
does (fast mode, all dihedral variants, default radius 31 and quality 50). Recall counts edited
known images that match their own original; false matches count edited or unedited negatives that
match anything on the list.

    .venv/bin/python bench/robustness.py
"""

from __future__ import annotations

import io
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).parent))
from _common import OPERATOR, bsds_images, machine
from vigil.lists import domain as lists
from vigil.lists.formats import ListRow
from vigil.match.matcher import Matcher
from vigil.signals.compute import compute
from vigil.store.db import Store

Edit = Callable[[Image.Image], Image.Image]


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _watermark(image: Image.Image) -> Image.Image:
    """Semi-transparent white text across the picture, as stock-photo and site watermarks look."""
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    w, h = image.size
    font = ImageFont.load_default(size=max(12, h // 10))
    draw.text((w * 0.08, h * 0.40), "SAMPLE (c) 2026", font=font, fill=(255, 255, 255, 140))
    small = ImageFont.load_default(size=max(10, h // 20))
    draw.text((w * 0.60, h * 0.90), "www.example.org", font=small, fill=(255, 255, 255, 200))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    dx, dy = int(w * share / 2), int(h * share / 2)
    return image.crop((dx, dy, w - dx, h - dy))


def _pad(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    return ImageOps.expand(image, border=(int(w * share / 2), int(h * share / 2)), fill=(0, 0, 0))


EDITS: dict[str, Edit] = {
    "none": lambda im: im,
    "resize 0.5": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "jpeg q=50": lambda im: Image.open(io.BytesIO(_jpeg(im, 50))),
    "gamma 0.6": lambda im: im.point(lambda v: round(255 * (v / 255) ** 0.6)),
    "gamma 1.6": lambda im: im.point(lambda v: round(255 * (v / 255) ** 1.6)),
    "blur r=2": lambda im: im.filter(ImageFilter.GaussianBlur(2)),
    "watermark": _watermark,
    "crop 5%": lambda im: _crop(im, 0.05),
    "pad 20%": lambda im: _pad(im, 0.20),
    "rotate 90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "rotate 180": lambda im: im.transpose(Image.Transpose.ROTATE_180),
    "rotate 270": lambda im: im.transpose(Image.Transpose.ROTATE_270),
    "flip horizontal": ImageOps.mirror,
    "grayscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
}
GOAL_EXEMPT = {"crop 5%", "pad 20%"}


def main() -> None:
    paths = bsds_images()
    known, negatives = paths[0::2], paths[1::2]
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/bench.db")
        rows = []
        for path in known:
            signals = compute(str(path), path.read_bytes(), "exact")
            rows.append(ListRow("pdq", signals.pdq or "", None, str(path)))
        lists.import_rows(store, OPERATOR, "known", rows)
        matcher = Matcher(store)
        print(
            f"# PDQ robustness: {len(known)} known, {len(negatives)} negatives, radius 31, quality 50; "
            f"{machine()}"
        )
        print(f"{'edit':18} {'recall':>7} {'mean d':>7} {'false matches':>14} {'goal':>5}")
        worst = 1.0
        for name, edit in EDITS.items():
            recall_hits, distances, false = 0, [], 0
            for group, is_known in ((known, True), (negatives, False)):
                batch = []
                for path in group:
                    edited = edit(Image.open(path).convert("RGB")).convert("RGB")
                    batch.append(compute(str(path), _jpeg(edited, 95), "fast"))
                for result in matcher.match(batch):
                    origin = {s.origin for m in result.matches for s in m.sources}
                    if is_known:
                        if result.signals.path in origin:
                            recall_hits += 1
                            distances.append(min(m.distance for m in result.matches))
                    elif result.matches:
                        false += 1
            recall = recall_hits / len(known)
            mean_d = sum(distances) / len(distances) if distances else float("nan")
            goal = "-" if name in GOAL_EXEMPT else ("ok" if recall >= 0.95 and false == 0 else "MISS")
            if name not in GOAL_EXEMPT:
                worst = min(worst, recall)
            print(f"{name:18} {recall:7.3f} {mean_d:7.1f} {false:14d} {goal:>5}")
        print(f"lowest recall outside crop/pad: {worst:.3f}")


if __name__ == "__main__":
    main()
