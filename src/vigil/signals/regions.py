"""Query-side normalisation: extra PDQ hashes of the picture inside whatever was put around it.

Known material is re-shared with borders, padding, letterbox bars, screenshot chrome (status and
navigation bars, app headers), meme caption bands and small rotations. PDQ hashes the whole frame,
so each of those moves the content against PDQ's fixed grid and a copy is missed. Lists from NCMEC,
IWF and partners carry hashes only, so the fix has to be on the query side: find the content region
and hash it too, and hash the picture turned back by a few degrees.

Every extra hash is a named variant (`trim1`, `rot+2`, `rot+2/cut`...) searched beside the original
and its dihedral variants, and a match says which variant hit. Variants only add chances to match a
listed image; they never replace the original hash. Cost: the work happens on a copy at most
`WORK_SIDE` pixels wide, a few milliseconds per image beside the decode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vigil.signals import pdq

WORK_SIDE = 512  # boxes are found and cut on a copy this size (PDQ itself looks at 64x64)
# Turns work on a smaller copy, two thirds of the pixels. On 300 BSDS500 photos turned by 2-5
# degrees (in their frame and on an enlarged canvas) and re-saved, the nearest counter-rotation
# was on average 17.2 bits from the original with a 512 copy, 16.4 with 448, 16.3 with 416, 16.9
# with 400, then 20.6 with 386 and 24.4 with 256 (PDQ's box filter is 4 pixels wide from 385 to
# 512, narrower below); read off the filtered copy (`turned`), on 150 of them: 17.0, 16.2, 16.1
# and 16.2 bits. Boxes need the finer copy: found on a 416 copy, borders, letterboxes and captions
# lost 1-4 photos of 250 each in `bench/robustness.py`.
TURN_SIDE = 416
FLAT = 8.0  # a border line's grey levels spread less than this (JPEG noise on a solid fill)
BAND_SHARE = 0.6  # a chrome line: this share of its pixels within BAND_TOLERANCE of its colour
TEXT_SHARE = 0.35  # a chrome line with text on it (a comment line, a header with a name)
CAPTION_SHARE = 0.2  # a line through a caption's big letters: still the band's colour, on less of it
BAND_TOLERANCE = 14  # grey levels from a line's colour that still count as that colour (JPEG noise)
SAME_TOLERANCE = 4  # ... and for drawn chrome, which is one exact colour (a photo's sky is not)
MAX_SEGMENTS = 3  # band boundaries tried inside a run of chrome, from each end
GAP_SHARE = 0.03  # lines of a band that may fail in a row (bold letters), as a share of the side
MIN_CONTENT = 0.35  # never keep less than this share of a side: past that it is not a border
MIN_TRIM = 0.02  # trims smaller than this share of a side change nothing worth a hash
ROTATIONS = (-5.0, -3.5, -2.0, 2.0, 3.5, 5.0)  # a turn of up to ±5° is within 1° of one (or of none)


def work_copy(gray: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    import cv2

    height, width = gray.shape
    scale = side / max(height, width)
    if scale >= 1:
        return gray
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    out: np.ndarray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return out


def _run(kinds: np.ndarray, colours: np.ndarray, tolerance: float | None, gap: int) -> int:
    """How many lines from the start are border or band lines; with a `tolerance`, only while
    their colour stays that close to the first line's (one caption band), else one band after
    another whatever their colours (a status bar, then an app header). Up to `gap` lines in a row
    may fail (a caption's boldest letters cover most of a line) if the band goes on after them."""
    ok = kinds.copy()
    if tolerance is not None:
        ok &= np.abs(colours - colours[0]) <= tolerance
    end, missed = 0, 0
    for index, good in enumerate(ok):
        if good:
            end, missed = index + 1, 0
        else:
            missed += 1
            if missed > gap:
                break
    return end


# How lines are told apart from the picture, as (share of a line near its colour, how far the
# colour may drift from the first line's, None: any): borders and bars are flat lines; a caption
# band keeps exactly one colour (a photo's sky next to it drifts more), with text on as little as
# a fifth of a line; screenshot chrome is band after band of different colours (status bar, app
# header, comment lines, navigation bar).
FLAT_ONLY: tuple[float, float | None] = (1.1, 2 * BAND_TOLERANCE)
ROW_RULES: tuple[tuple[float, float | None], ...] = (
    FLAT_ONLY,
    (CAPTION_SHARE, 6.0),
    (BAND_SHARE, None),
    (TEXT_SHARE, None),
)


@dataclass(frozen=True)
class _Lines:
    """Per line (row) of an image: its colour (median), whether it is flat, and the share of its
    pixels near its colour. Computed once per axis; each rule only compares."""

    colour: np.ndarray
    flat: np.ndarray
    near: np.ndarray  # share of the line within BAND_TOLERANCE of its colour
    same: np.ndarray  # share within SAME_TOLERANCE: drawn chrome is one exact colour, a sky is not

    @classmethod
    def of(cls, gray: np.ndarray) -> _Lines:
        sample = gray[:, ::2]  # every other pixel of a line says as much about its colour
        count = sample.shape[1]
        colour = np.partition(sample, count // 2, axis=1)[:, count // 2].astype(np.int16)
        wide = sample.astype(np.int16)
        off = np.abs(wide - colour[:, None])
        near = np.count_nonzero(off <= BAND_TOLERANCE, axis=1) / count
        same = np.count_nonzero(off <= SAME_TOLERANCE, axis=1) / count
        # std < FLAT in whole numbers (count^2 var = count sum(x^2) - sum(x)^2): no float64 copy of
        # the lines, which took a fifth of this; equal on the 2,358 line sets of 879 plots and 300 photos
        total = wide.sum(axis=1, dtype=np.int64)
        wide32 = wide.astype(np.int32)
        squares = np.einsum("ij,ij->i", wide32, wide32).astype(np.int64)
        flat = count * squares - total * total < round(FLAT * FLAT) * count * count
        return cls(colour, flat, near, same)

    def segments(self, share: float, *, from_end: bool) -> list[int]:
        """Where, inside a run of chrome lines, a new band of another colour starts (counted from
        the start, or from the end): the picture's own uniform edge may continue a run of chrome,
        so each such boundary is a place the picture may begin."""
        kinds = self.flat | (self.same >= share)
        colours = self.colour[::-1] if from_end else self.colour
        kinds = kinds[::-1] if from_end else kinds
        after = kinds[1:]
        run = len(kinds) if after.all() else 1 + int(np.argmin(after))  # chrome lines from the start
        jumps = np.abs(np.diff(colours[:run])) > BAND_TOLERANCE  # line i differs from line i - 1
        starts: list[int] = (np.flatnonzero(jumps)[:MAX_SEGMENTS] + 1).tolist()
        return starts

    def runs(self, share: float, tolerance: float | None) -> tuple[int, int]:
        """Lines to trim from the start and from the end under one rule (a rule without colour
        tolerance, for chrome, counts only pixels of exactly the line's colour)."""
        kinds = self.flat | ((self.near if tolerance is not None else self.same) >= share)
        caption = share <= 1 and tolerance is not None  # gaps only inside one band of one colour
        gap = max(1, round(GAP_SHARE * len(kinds))) if caption else 0
        return (
            _run(kinds, self.colour, tolerance, gap),
            _run(kinds[::-1], self.colour[::-1], tolerance, gap),
        )


def content_boxes(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of the picture: inside borders and bars (flat lines on any side),
    and inside caption bands or screenshot chrome above and below it (with flat side borders):
    each distinct box that trims something and leaves enough to be the picture. A photo's own sky
    can pass for a band, which is why the stricter boxes are kept beside the looser ones."""
    height, width = gray.shape
    rows, columns = _Lines.of(gray), _Lines.of(gray.T)
    left, right = columns.runs(*FLAT_ONLY)
    flat_top, flat_bottom = rows.runs(*FLAT_ONLY)
    boxes: list[tuple[int, int, int, int]] = []
    for share, tolerance in ROW_RULES:
        top, bottom = rows.runs(share, tolerance)
        # a band above, a band below, or both: a photo's own edge may look like a band too
        cuts = [(top, bottom), (top, flat_bottom), (flat_top, bottom)]
        if tolerance is None:  # chrome: also cut where each band of another colour begins
            cuts += [(t, bottom) for t in rows.segments(share, from_end=False)]
            cuts += [(top, b) for b in rows.segments(share, from_end=True)]
        for t, b in cuts:
            box = (t, height - b, left, width - right)
            if box[1] - box[0] < MIN_CONTENT * height or box[3] - box[2] < MIN_CONTENT * width:
                continue
            if max(t, b) < MIN_TRIM * height and max(left, right) < MIN_TRIM * width:
                continue
            if box not in boxes:
                boxes.append(box)
    return boxes


def _inner(height: int, width: int, degrees: float) -> tuple[int, int] | None:
    """(top, left) margins of the original inside a copy of it turned by -`degrees` on a canvas
    enlarged to hold it, once turned back in place: the canvas is (W cos + H sin, W sin + H cos)
    and the original W x H sits at its centre, so in the copy turned back within its own frame
    it is that rectangle, the same number of lines off each side so that its centre stays exact.
    On 1,200 turned and re-saved BSDS500 copies as close to the original as a turn on a larger
    canvas (99.3% within 31 bits either way; mean 11.4 bits against 11.0). None when less than
    MIN_CONTENT of a side would be left."""
    cos, sin = abs(math.cos(math.radians(degrees))), abs(math.sin(math.radians(degrees)))
    det = cos * cos - sin * sin
    inner_w, inner_h = (width * cos - height * sin) / det, (height * cos - width * sin) / det
    if inner_w < MIN_CONTENT * width or inner_h < MIN_CONTENT * height:
        return None
    return round((height - inner_h) / 2), round((width - inner_w) / 2)


@lru_cache(maxsize=4)
def _turn_grid(height: int, width: int, pad: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Names of the turned variants of a `height` x `width` copy and, side by side, where each
    variant's 64x64 PDQ samples lie in that copy padded by `pad` (x and y maps for `cv2.remap`):
    a sample at (x, y) of the plane turned back by `degrees` about the centre c (and of the
    rectangle cut out of it) is the point c + R(degrees) (p - c) of the untouched copy, R as
    OpenCV turns (`getRotationMatrix2D`, y pointing down).

    Kept for the last few sizes (read-only, 400 KB each): a site's pictures come in a few sizes
    (on scikit-learn's documentation 72% of the 879 turn copies hit a cache of four; 298 of 300
    BSDS500 photos), and building the maps took a quarter of `turned` (1.24-1.35 ms a plot
    against 0.94-1.12 with the cache; the hashes are identical)."""
    names: list[str] = []
    frames: list[tuple[float, int, int]] = []  # (degrees, top, left)
    for degrees in ROTATIONS:
        names.append(f"rot{degrees:+g}")
        frames.append((degrees, 0, 0))
        if (margins := _inner(height, width, degrees)) is not None:
            names.append(f"rot{degrees:+g}/cut")
            frames.append((degrees, *margins))
    radians = np.radians([degrees for degrees, _, _ in frames], dtype=np.float32)[None, :, None]
    cos, sin = np.cos(radians), np.sin(radians)  # (1, k, 1): the maps are (row, variant, column)
    x = np.stack([left + pdq.picks(width - 2 * left) for _, _, left in frames])[None, :, :] - width / 2
    y = np.stack([top + pdq.picks(height - 2 * top) for _, top, _ in frames], axis=1)[:, :, None] - height / 2
    x, y = x.astype(np.float32), y.astype(np.float32)
    side_by_side = (64, 64 * len(frames))  # variant k's block is columns 64k to 64k + 63
    map_x = (np.float32(width / 2 + pad) + cos * x - sin * y).reshape(side_by_side)
    map_y = (np.float32(height / 2 + pad) + sin * x + cos * y).reshape(side_by_side)
    map_x.flags.writeable = map_y.flags.writeable = False  # shared by every copy of this size
    return tuple(names), map_x, map_y


def turned(small: np.ndarray) -> list[tuple[str, str]]:
    """(name, PDQ hex) of the copy turned back by each of ROTATIONS about its centre, within its
    own frame (`rot+2`: for a copy turned within its frame; the corners it brings in are filled
    with the colour of the old ones, which a copy that was itself turned has there) and cut out
    of that (`rot+2/cut`: for a copy turned on a canvas enlarged to hold it, as editors and
    phones do).

    A turn and PDQ's filter are both linear and nearly commute (for turns of a few degrees the
    box filter's square barely differs from a turned one), so rather than warping the copy a
    dozen times and filtering each, the padded copy is filtered once at every pixel and each
    variant's 64x64 samples are read off it where they land, between pixels by bilinear
    interpolation. The cut-outs share the copy's filter width (theirs is at most one pixel less,
    for the same recall). On 200 BSDS500 photos turned by 2-5 degrees (in their frame and on an
    enlarged canvas, both ways) and re-saved, the nearest variant is as close to the original as
    with warped copies (mean 18.0 bits either way, 91.4% within 31), and a photo's variants take
    3.1 ms instead of 6.1; `bench/robustness.py` still meets every goal."""
    import cv2

    height, width = small.shape
    row_width, column_width = pdq.box_width(height), pdq.box_width(width)
    pad = 2 * max(row_width, column_width) + 2  # past the filter's reach: the edge is all fill
    names, map_x, map_y = _turn_grid(height, width, pad)
    fill = float(np.mean([small[0, 0], small[0, -1], small[-1, 0], small[-1, -1]]))
    padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill)
    smooth = pdq.blurred(padded.astype(np.float32), row_width, column_width)
    border = cv2.BORDER_CONSTANT  # a sample past the padding lands on fill too
    samples = cv2.remap(smooth, map_x, map_y, cv2.INTER_LINEAR, borderMode=border, borderValue=fill)
    blocks = samples.reshape(64, len(names), 64).transpose(1, 0, 2)
    return list(zip(names, pdq.block_hashes(blocks), strict=True))


def variants(gray: np.ndarray) -> tuple[tuple[str, str], ...]:
    """(name, PDQ hex) of the content region (`trim1`...) and of small counter-rotations
    (`rot+2`, `rot+2/cut`...: `turned`)."""
    work = work_copy(gray)
    boxes = content_boxes(work)
    trims = pdq.hashes_of([work[top:bottom, left:right] for top, bottom, left, right in boxes])
    named = [(f"trim{n + 1}", value) for n, value in enumerate(trims)]
    return (*named, *turned(work_copy(work, TURN_SIDE)))
