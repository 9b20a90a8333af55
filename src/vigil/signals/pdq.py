"""PDQ perceptual hashing: an exact mode (the reference `pdqhash`) and a fast vectorised mode.

The fast mode reproduces the reference pipeline (float luma, two-pass Jarosz box filter,
64x64 decimation, 16x16 DCT, lower-median threshold) but only evaluates the filter at the
64x64 sample points, as a sparse separable linear operator. That skips the full-image
float buffers the reference allocates and keeps the result within a few bits of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pdqhash

HASH_BITS = 256
_OUT = 64
_PASSES = 2


@dataclass(frozen=True)
class PdqResult:
    """A PDQ hash (64 hex chars) with its quality (0-100) and the 8 dihedral variants."""

    hash_hex: str
    quality: int
    dihedral: tuple[str, ...] = ()


# EXIF orientation -> index of the dihedral variant of the upright hash that equals the hash of the
# pixels as stored (measured against pdqhash on stored pixels for all 8 orientations: 0-8 bits;
# Meta's exif-rotn-{3,6,8} reference hashes: 2-6 bits; tests/test_pdq.py checks both).
AS_STORED = {1: 0, 2: 5, 3: 2, 4: 4, 5: 6, 6: 1, 7: 7, 8: 3}


def as_stored(dihedral: tuple[str, ...], orientation: int) -> str | None:
    """The PDQ hash in the as-stored convention (no EXIF turn), from the upright hash's variants."""
    if orientation == 1 or len(dihedral) != 8:
        return None
    return dihedral[AS_STORED[orientation]]


def bits_to_hex(bits: np.ndarray) -> str:
    """Hex in reference order: the bit vector as `pdqhash` returns it, big-endian packed."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hex_to_bytes(value: str) -> bytes:
    raw = bytes.fromhex(value)
    if len(raw) != HASH_BITS // 8:
        raise ValueError(f"PDQ hash must be 64 hex characters, got {len(value)}")
    return raw


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3], dtype=np.uint8)


def exact(image: np.ndarray, *, dihedral: bool = True) -> PdqResult:
    """Reference PDQ via `pdqhash`, bit for bit."""
    rgb = _rgb(image)
    if dihedral:
        vectors, quality = pdqhash.compute_dihedral(rgb)
        hexes = tuple(bits_to_hex(v) for v in vectors)
        return PdqResult(hexes[0], int(quality), hexes)
    vector, quality = pdqhash.compute(rgb)
    return PdqResult(bits_to_hex(vector), int(quality))


def box_width(n_in: int) -> int:
    """The reference's box-filter width for an axis of `n_in` pixels."""
    return (n_in + 2 * _OUT - 1) // (2 * _OUT)


@lru_cache(maxsize=1024)
def picks(n_in: int) -> np.ndarray:
    """The reference's 64 sample positions along an axis of `n_in` pixels (read-only: shared)."""
    at: np.ndarray = (((np.arange(_OUT) + 0.5) * n_in) / _OUT).astype(int)
    at.flags.writeable = False
    return at


@lru_cache(maxsize=256)
def _sampler(n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Sparse (64, K) tap indices and weights of blur-then-decimate along one axis.

    Each output sample starts as a weight of 1 on the input the reference picks; each box pass,
    transposed, spreads a weight at input i evenly over [i - (w - h), i + h - 1] (clipped), h =
    (w + 2) // 2. Only the few inputs near each pick ever get a weight, so the spreading works on
    a window per output row (difference array, then a running sum) rather than on whole rows:
    0.06-0.09 ms instead of 1-6 ms per new image height or width (the crops a query hashes have
    a new size each), with bit-identical weights (tested against the whole-row form).
    """
    window = box_width(n_in)
    half = (window + 2) // 2
    index = np.arange(n_in)
    lo = np.maximum(index - (window - half), 0)
    hi = np.minimum(index + half - 1, n_in - 1)
    start = picks(n_in)
    local = np.ones((_OUT, 1))  # weights of inputs start[row] + k, k < local.shape[1]
    rows = np.arange(_OUT)[:, None]
    for _ in range(_PASSES):
        at = start[:, None] + np.arange(local.shape[1])
        inside = at < n_in
        at = np.minimum(at, n_in - 1)
        low, high = lo[at], hi[at]
        share = np.where(inside, local / (high - low + 1), 0.0)
        first = lo[start]
        width = local.shape[1] + window + 1
        cells = width + 1
        offset = rows * cells - first[:, None]
        bins = np.concatenate([(offset + low).ravel(), (offset + high + 1).ravel()])
        diff = np.bincount(bins, np.concatenate([share.ravel(), -share.ravel()]), minlength=_OUT * cells)
        local = np.cumsum(diff.reshape(_OUT, cells)[:, :width], axis=1)
        start = first
    local[np.abs(local) < 1e-9] = 0.0  # running-sum round-off outside the true support
    nonzero = local != 0
    taps_per_row = max(int(nonzero.sum(axis=1).max()), 1)
    order = np.argsort(~nonzero, axis=1, kind="stable")[:, :taps_per_row]  # nonzero ones first, in order
    weights = np.take_along_axis(local, order, axis=1)
    taps = np.where(weights != 0, start[:, None] + order, 0).astype(np.intp)
    return taps, weights.astype(np.float32)


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    i = np.arange(1, 17)[:, None]
    j = np.arange(_OUT)[None, :]
    matrix: np.ndarray = (np.sqrt(2.0 / _OUT) * np.cos(np.pi / 2 / _OUT * i * (2 * j + 1))).astype(np.float32)
    return matrix


def luma(image: np.ndarray) -> np.ndarray:
    rgb = _rgb(image)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out: np.ndarray = rgb @ weights
    return out


ROW_BATCH = 8  # output rows whose input taps are gathered together, at least
BATCH_BYTES = 768 * 1024  # ... and more while their float taps stay under this (glibc's heap, not
# a fresh mapping, in the hashers): one batch instead of eight for a query variant's plane


def downsample64(gray: np.ndarray) -> np.ndarray:
    """Jarosz-filtered 64x64 luma, evaluated only where the reference samples it."""
    block: np.ndarray = _downsample_stack(gray[None])[0]
    return block


def _downsample_stack(stack: np.ndarray) -> np.ndarray:
    """`downsample64` of each plane of a (k, height, width) stack, in one pass of NumPy calls
    (the query variants of one picture are a dozen planes of two or three sizes)."""
    count, height, width = stack.shape
    row_taps, row_w = _sampler(height)
    col_taps, col_w = _sampler(width)
    rows = np.empty((count, 64, width), dtype=np.float32)
    per_row = 4 * count * row_taps.shape[1] * width
    batch = min(64, max(ROW_BATCH, BATCH_BYTES // per_row))
    for start in range(0, 64, batch):  # batches: the taps of all 64 rows at once would take
        end = start + batch  # 4 bytes x 2 x width x height, 22 MB for a 2122x1323 image
        picked = stack[:, row_taps[start:end]].astype(np.float32, copy=False)
        rows[:, start:end] = np.matmul(row_w[start:end, None, :], picked)[:, :, 0, :]
    cols = rows[:, :, col_taps].transpose(0, 2, 1, 3)
    return np.matmul(cols, col_w[:, :, None])[..., 0].transpose(0, 2, 1)  # type: ignore[no-any-return]


def quality64(block: np.ndarray) -> int:
    """Reference image-domain quality: summed truncated gradients, scaled to 0-100."""
    scaled = block * np.float32(100 / 255)
    vert = np.abs((scaled[:-1, :] - scaled[1:, :]).astype(np.int32)).sum()
    horiz = np.abs((scaled[:, :-1] - scaled[:, 1:]).astype(np.int32)).sum()
    total = int(vert + horiz)
    return min(total // 90, 100)


_ODD = np.where(np.arange(1, 17) % 2 == 1, -1.0, 1.0).astype(np.float32)
_ONES = np.ones((16, 16), dtype=np.float32)
_SIGNS = np.stack([_ONES, _ONES * _ODD[None, :], np.outer(_ODD, _ODD), _ONES * _ODD[:, None]])
# Order of DIHEDRAL_NAMES as (sign pattern, transposed?): the reference's rotations and flips
# are sign flips of odd-frequency DCT rows/columns, with a transpose for the quarter turns.
_DIHEDRAL_PICK = np.array([0, 5, 2, 7, 3, 1, 4, 6])


def _dihedral_coeffs(c: np.ndarray) -> np.ndarray:
    """The 8 dihedral images' DCT coefficients (8, 16, 16), from the original's alone."""
    signed = c[None, :, :] * _SIGNS
    both = np.concatenate([signed, signed.transpose(0, 2, 1)])
    out: np.ndarray = both[_DIHEDRAL_PICK]
    return out


def _thresholds(coeffs: np.ndarray) -> tuple[str, ...]:
    """Bit k set where coefficient k exceeds the lower median (the reference's Torben median)."""
    flat = coeffs.reshape(len(coeffs), -1)
    median = np.partition(flat, 127, axis=1)[:, 127:128]
    packed = np.packbits((flat > median)[:, ::-1], axis=1)
    return tuple(row.tobytes().hex() for row in packed)


def blurred(plane: np.ndarray, row_width: int, column_width: int) -> np.ndarray:
    """PDQ's filter (two box passes of the given widths along each axis) at every pixel of a
    float32 plane, for hashes sampled off the sample grid (`vigil.signals.regions`' turns). The
    reference averages only the pixels inside the plane near its edges; this repeats the edge
    instead, which is the same where the plane's outer 2 x width pixels are one colour (a plane
    padded with its fill): OpenCV's box filter, two calls instead of the reference's four passes."""
    import cv2  # loaded where hashing needs it, not in every process

    size = (column_width, row_width)
    anchor = (column_width - (column_width + 2) // 2, row_width - (row_width + 2) // 2)
    once = cv2.blur(plane, size, anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    out: np.ndarray = cv2.blur(once, size, anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    return out


def block_hashes(blocks: np.ndarray) -> list[str]:
    """The PDQ hash of each filtered 64x64 block of a (k, 64, 64) stack."""
    dct = _dct_matrix()
    return list(_thresholds(np.matmul(np.matmul(dct, blocks), dct.T)))


def hashes_of(planes: Sequence[np.ndarray]) -> list[str]:
    """The PDQ hash of each luma plane, without quality or dihedral variants (what a query
    variant needs). Equal to `fast_from_gray`'s hash.

    Planes of one size are downsampled together, and the 64x64 blocks of every size go through
    one DCT and threshold: a picture's trims come in as many sizes as trims, and each NumPy call
    gives the GIL away and waits to win it back when a crawl's two hashing threads share one
    process. The trims of the 1,179 pictures of scikit-learn's documentation and BSDS500: 0.52-0.56
    ms a picture against 0.56-0.63 alone, 1.04-1.14 ms a pair of pictures in two threads against
    1.33-1.36, the same hashes."""
    out: list[str] = [""] * len(planes)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, plane in enumerate(planes):
        by_shape.setdefault(plane.shape, []).append(index)
    order: list[int] = []
    blocks: list[np.ndarray] = []
    for indices in by_shape.values():
        blocks.append(_downsample_stack(np.stack([planes[i] for i in indices])))
        order.extend(indices)
    if blocks:
        for index, hex_hash in zip(order, block_hashes(np.concatenate(blocks)), strict=True):
            out[index] = hex_hash
    return out


def fast_from_gray(gray: np.ndarray, *, dihedral: bool = True, limited_range: bool = False) -> PdqResult:
    """PDQ of a luma plane. `limited_range`: video Y in 16-235, rescaled so quality is comparable."""
    block = downsample64(gray)
    if limited_range:
        block = (block - np.float32(16)) * np.float32(255 / 219)
    dct = _dct_matrix()
    coeffs = dct @ block @ dct.T
    quality = quality64(block)
    if not dihedral:
        return PdqResult(_thresholds(coeffs[None])[0], quality)
    hexes = _thresholds(_dihedral_coeffs(coeffs))
    return PdqResult(hexes[0], quality, hexes)


def gray8(image: np.ndarray) -> np.ndarray:
    """8-bit luma of an RGB or grey uint8 array (what `fast` hashes)."""
    if image.ndim == 2:
        return image
    import cv2  # 16 MiB: loaded where a colour image needs it, not in every process

    out: np.ndarray = cv2.cvtColor(_rgb(image), cv2.COLOR_RGB2GRAY)
    return out


def fast(image: np.ndarray, *, dihedral: bool = True) -> PdqResult:
    """Vectorised PDQ of an RGB or grey uint8 array; within a few bits of `exact`.

    Luma is taken as 8-bit (as a JPEG's Y channel already is), which costs well under a
    bit on average; use `fast_from_gray(luma(image))` for float luma.
    """
    return fast_from_gray(gray8(image), dihedral=dihedral)
