"""Region hashes of a known image, for lists Vigil builds from files itself.

A crop removes picture that no query-side variant can bring back, so PDQ of a copy cut by 5-10% is
60-100 bits from the original's (BSDS500: 0 of 250 within radius 31 at 7% from one side). Where
Vigil hashes the known file itself it can store, beside the whole picture's hash, the hashes of
the crops people make: cut from each side and each corner at a few depths, the centre, the halves
and the quadrants; and its own turned and flipped hashes. A cropped copy then lies within a few
bits of one of them (its own crop, or the nearest depth), as vPDQ's half-picture frames do for
videos. Lists shared as hashes only (NCMEC, IWF, partners) cannot carry these; there the
calibrated weak tier is what catches small crops.

Every crop is hashed in fast mode on a copy at most `regions.WORK_SIDE` wide, as the query side
is; crops below the PDQ quality floor are not kept (a flat sky half matches too much). The turned
variants come with the whole picture's hash (exact mode when a list is built).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vigil.core import defaults
from vigil.signals import pdq
from vigil.signals.types import DIHEDRAL_NAMES

DEPTHS = (4, 7, 10)  # percent cut from one side or one corner (a copy cut between two lies near both)
CENTRE = (2, 4, 5, 10)  # percent cut from every side
SIDES = {"l": (1, 0, 0, 0), "t": (0, 1, 0, 0), "r": (0, 0, 1, 0), "b": (0, 0, 0, 1)}
CORNERS = {"tl": (1, 1, 0, 0), "tr": (0, 1, 1, 0), "bl": (1, 0, 0, 1), "br": (0, 0, 1, 1)}
HALVES = {"h-top": (0, 0, 0, 50), "h-bot": (0, 50, 0, 0), "h-left": (0, 0, 50, 0), "h-right": (50, 0, 0, 0)}
QUADRANTS = {"q-tl": (0, 0, 50, 50), "q-tr": (50, 0, 0, 50), "q-bl": (0, 50, 50, 0), "q-br": (50, 50, 0, 0)}


# the known picture's own dihedral variants, named as regions: a turned or flipped copy hashed on the
# query side lands 2.5 bits (mean) from where the known picture's turned hash lies, so searching
# both sides finds more (BSDS500, turned + halved + JPEG q=50: 0.850 -> 0.895 within 31 bits)
TURNED = {
    "rotate90": "d-r90",
    "rotate180": "d-r180",
    "rotate270": "d-r270",
    "flipx": "d-fx",
    "flipy": "d-fy",
    "flip_plus1": "d-fp1",
    "flip_minus1": "d-fm1",
}


def turned(dihedral: tuple[str, ...], quality: int) -> tuple[tuple[str, str, int], ...]:
    """(region, PDQ hex, quality) of the picture's 7 turned and flipped variants."""
    return tuple(
        (TURNED[name], value, quality) for name, value in zip(DIHEDRAL_NAMES[1:], dihedral[1:], strict=False)
    )


def boxes() -> Iterator[tuple[str, tuple[float, float, float, float]]]:
    """(region name, percent cut from left, top, right, bottom); names fit 8 characters."""
    for depth in DEPTHS:
        for name, sides in (SIDES | CORNERS).items():
            yield f"{name}{depth:02d}", tuple(depth * s for s in sides)  # type: ignore[misc]
    for depth in CENTRE:
        yield f"c{depth:02d}", (depth, depth, depth, depth)
    for name, cut in (HALVES | QUADRANTS).items():
        yield name, cut


def region_hashes(
    work: np.ndarray, min_quality: int = defaults.PDQ_MIN_QUALITY
) -> tuple[tuple[str, str, int], ...]:
    """(region, PDQ hex, quality) of every region of this luma work copy (`regions.work_copy`: the
    caller's keypoints are taken from the same copy) with quality >= `min_quality`."""
    height, width = work.shape
    out: list[tuple[str, str, int]] = []
    for name, (left, top, right, bottom) in boxes():
        x0, y0 = round(width * left / 100), round(height * top / 100)
        x1, y1 = width - round(width * right / 100), height - round(height * bottom / 100)
        if x1 - x0 < 16 or y1 - y0 < 16:
            continue
        result = pdq.fast_from_gray(work[y0:y1, x0:x1], dihedral=False)
        if result.quality >= min_quality:
            out.append((name, result.hash_hex, result.quality))
    return tuple(out)
