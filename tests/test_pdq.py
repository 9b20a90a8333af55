"""PDQ conformance to Meta's reference vectors, and the fast path's agreement with the exact one."""

from __future__ import annotations

import numpy as np
import pdqhash
import pytest
from tests.conftest import PDQ_REF, bsds_images, pdq_reference_pairs

from vigil.media.decode import decode
from vigil.signals import pdq

REFERENCE_TOLERANCE = 16  # the reference test's hamming_tolerance


def _pdqhash_hex(rgb: np.ndarray) -> str:
    bits, _quality = pdqhash.compute(rgb)
    return pdq.bits_to_hex(bits)


PAIRS = pdq_reference_pairs()


def test_reference_images_present() -> None:
    assert len(PAIRS) >= 15, "expected most of the reference images to be in shared/data"


@pytest.mark.parametrize(("path", "expected"), PAIRS, ids=[p.name for p, _ in PAIRS])
def test_exact_mode_equals_pdqhash_and_reference(path, expected) -> None:
    rgb = decode(path.read_bytes(), "exact")
    ours = pdq.exact(rgb)
    assert ours.hash_hex == _pdqhash_hex(rgb)
    assert pdq.hamming(ours.hash_hex, expected) <= REFERENCE_TOLERANCE
    fast = pdq.fast(decode(path.read_bytes(), "fast"))
    if ours.quality >= 50:  # below that PDQ is unstable by design and the matcher skips it
        assert pdq.hamming(fast.hash_hex, expected) <= REFERENCE_TOLERANCE


def test_dihedral_variants_match_transformed_files() -> None:
    """Hashing the original once predicts the hash of each rotated/flipped reference file."""
    expected = dict((p.name, h) for p, h in PAIRS if p.parent.name == "dih")
    if len(expected) < 8:
        pytest.skip("dihedral reference images missing")
    original = PDQ_REF / "reg-test-input/dih/bridge-1-original.jpg"
    names = [
        "bridge-1-original.jpg",
        "bridge-2-rotate-90.jpg",
        "bridge-3-rotate-180.jpg",
        "bridge-4-rotate-270.jpg",
        "bridge-5-flipx.jpg",
        "bridge-6-flipy.jpg",
        "bridge-7-flip-plus-1.jpg",
        "bridge-8-flip-minus-1.jpg",
    ]
    for mode, hasher in (("exact", pdq.exact), ("fast", pdq.fast)):
        result = hasher(decode(original.read_bytes(), mode))  # type: ignore[arg-type]
        for name, variant in zip(names, result.dihedral, strict=True):
            assert pdq.hamming(variant, expected[name]) <= REFERENCE_TOLERANCE, (mode, name)


def test_exact_dihedral_equals_pdqhash_dihedral() -> None:
    rgb = decode(bsds_images()[0].read_bytes(), "exact")
    vectors, quality = pdqhash.compute_dihedral(rgb)
    result = pdq.exact(rgb)
    assert result.dihedral == tuple(pdq.bits_to_hex(v) for v in vectors)
    assert result.quality == quality


def test_fast_path_within_four_bits_on_bsds500() -> None:
    distances, quality_gaps = [], []
    for path in bsds_images():
        data = path.read_bytes()
        exact = pdq.exact(decode(data, "exact"), dihedral=False)
        fast = pdq.fast(decode(data, "fast"), dihedral=False)
        distances.append(pdq.hamming(exact.hash_hex, fast.hash_hex))
        quality_gaps.append(abs(exact.quality - fast.quality))
    assert len(distances) == 500
    assert float(np.mean(distances)) <= 4.0
    assert max(quality_gaps) <= 5


def test_fast_float_luma_reproduces_reference_filter() -> None:
    """With float luma the vectorised pipeline is the reference pipeline, up to float rounding."""
    for path in bsds_images()[:40]:
        rgb = decode(path.read_bytes(), "exact")
        reference = pdq.exact(rgb, dihedral=False)
        ours = pdq.fast_from_gray(pdq.luma(rgb), dihedral=False)
        assert pdq.hamming(reference.hash_hex, ours.hash_hex) <= 2
        assert abs(reference.quality - ours.quality) <= 1


def test_hamming_and_hex_helpers() -> None:
    a = "f" * 64
    b = "0" * 63 + "1"
    assert pdq.hamming(a, a) == 0
    assert pdq.hamming("0" * 64, b) == 1
    with pytest.raises(ValueError):
        pdq.hex_to_bytes("abc")
