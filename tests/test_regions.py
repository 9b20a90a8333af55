"""Query-side normalisation against a plain PDQ list (Meta's pdqhash): padded, bordered, letterboxed,
screenshotted, captioned and slightly turned copies of listed photos match, with the variant that hit
recorded; never-seen photos under the same edits match nothing. Edits are made at test time."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.conftest import OPERATOR, bsds_images

from vigil.lists import domain as lists
from vigil.lists.formats import ListRow
from vigil.match.matcher import MatchConfig, Matcher
from vigil.signals import regions
from vigil.signals.compute import compute
from vigil.store.db import Store

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from robustness import EDITS

KNOWN = bsds_images()[100:124:2]
NEVER_SEEN = bsds_images()[101:125:2]


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('regions') / 'v.db'}")
    rows = [ListRow("pdq", compute(str(p), p.read_bytes(), "exact").pdq or "", None, str(p)) for p in KNOWN]
    lists.import_rows(store, OPERATOR, "plain-pdq", rows)
    return store


def _edited(paths: list[Path], edit: Callable[[Image.Image], Image.Image]) -> list:  # type: ignore[type-arg]
    return [compute(str(p), _jpeg(edit(Image.open(p).convert("RGB"))), "fast") for p in paths]


@pytest.mark.parametrize(
    ("edit", "needed", "variant"),
    [
        ("pad 25%", 11, "trim"),
        ("border 10% white", 11, "trim"),
        ("letterbox 16:9", 11, "trim"),
        ("screenshot", 10, "trim"),
        ("caption top", 10, "trim"),
        ("rotate +4", 11, "rot-"),
        ("rotate -4", 11, "rot+"),
    ],
)
def test_edited_copies_of_listed_photos_match_by_a_named_variant(
    listed: Store, edit: str, needed: int, variant: str
) -> None:
    before = Matcher(listed, MatchConfig(normalise=False)).match(_edited(KNOWN, EDITS[edit]))
    after = Matcher(listed, MatchConfig(normalise=True)).match(_edited(KNOWN, EDITS[edit]))
    own = [[m for m in r.matches if r.signals.path in {s.origin for s in m.sources}] for r in after]
    assert sum(bool(o) for o in own) >= needed  # of 12
    assert sum(bool(r.matches) for r in before) <= 2  # what the original and its dihedral variants find
    hit_by = [min(o, key=lambda m: m.distance).variant or "" for o in own if o]
    assert sum(v.startswith(variant) for v in hit_by) >= needed - 1  # the match says which variant hit


@pytest.mark.parametrize("edit", ["none", "pad 25%", "screenshot", "caption top", "rotate +4", "crop 2% tl"])
def test_never_seen_photos_under_the_same_edits_match_nothing(listed: Store, edit: str) -> None:
    results = Matcher(listed, MatchConfig(normalise=True)).match(_edited(NEVER_SEEN, EDITS[edit]))
    assert [r.signals.path for r in results if r.matches] == []


def test_boxes_find_generated_padding_exactly_and_leave_a_plain_photo_alone() -> None:
    photo = np.asarray(Image.open(KNOWN[0]).convert("L"))
    padded = np.full((photo.shape[0] + 100, photo.shape[1] + 60), 255, dtype=np.uint8)
    padded[40 : 40 + photo.shape[0], 30 : 30 + photo.shape[1]] = photo
    boxes = regions.content_boxes(padded)
    assert (40, 40 + photo.shape[0], 30, 30 + photo.shape[1]) in boxes
    noise = np.random.default_rng(5).integers(0, 256, photo.shape, dtype=np.uint8)
    assert regions.content_boxes(noise) == []  # nothing uniform at any edge
    assert regions.content_boxes(np.full((300, 200), 128, dtype=np.uint8)) == []  # all border: no picture


def test_exact_mode_hashes_the_file_as_it_is() -> None:
    """Lists are built in exact mode with the reference hasher: no variants, so what goes on a list
    is what partners compute from the same file."""
    data = KNOWN[0].read_bytes()
    assert compute("x.jpg", data, "exact").pdq_variants == ()
    assert len(compute("x.jpg", data, "fast").pdq_variants) >= 4


def test_a_scan_finds_a_screenshot_of_a_listed_photo_and_says_how(store: Store, tmp_path: Path) -> None:
    """End to end through `vigil scan`'s runner: the match names the variant that hit; with
    normalisation off (`--no-normalise`) the same screenshot is not found."""
    from tests.test_scan import designate_known

    from vigil.sources.scan import report as scan_report
    from vigil.sources.scan.runner import ScanOptions, run_scan

    designate_known(store, KNOWN[:1])
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "shot.jpg").write_bytes(_jpeg(EDITS["screenshot"](Image.open(KNOWN[0]).convert("RGB"))))
    found = scan_report.build(store, run_scan(store, OPERATOR, folder, ScanOptions(workers=1)))
    [item] = found["matches"]
    [by_pdq] = [m for m in item["matches"] if m["hash_type"] == "pdq"]
    assert by_pdq["variant"].startswith("trim")
    off = ScanOptions(workers=1, match=MatchConfig(normalise=False))
    assert scan_report.build(store, run_scan(store, OPERATOR, folder, off))["matches"] == []
