"""Calibrated match tiers and region hashes: crops match, weak matches are only ever for review.

Benign BSDS500 photos: some are designated known, others are never-seen (a calibration set, and
separate fresh photos that judge false matches).
"""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.conftest import OPERATOR, bsds_images

from vigil.intel.classify.priority import match_kinds, priority
from vigil.lists import domain as lists
from vigil.lists.formats import ListRow
from vigil.match import snapshot
from vigil.match.calibrate import CalibrationResult, calibrate
from vigil.match.matcher import ItemMatches, MatchConfig, Matcher
from vigil.match.tiers import STRONG_RADIUS, WEAK_CEILING, Tier, fit_tail
from vigil.signals import known_regions
from vigil.signals.compute import FileSignals, compute
from vigil.signals.pdq import gray8
from vigil.signals.regions import work_copy
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import ListCalibration
from vigil.store.repo.lists import pdq_codes

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from robustness import EDITS

KNOWN = bsds_images()[200:260]
CALIBRATION = bsds_images()[300:380]
FRESH = bsds_images()[400:430]


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def _edited(paths: list[Path], edit: Callable[[Image.Image], Image.Image]) -> list[FileSignals]:
    return [compute(str(p), _jpeg(edit(Image.open(p).convert("RGB"))), "fast") for p in paths]


def _own(result: ItemMatches) -> list[Tier]:
    """Tiers of the matches of an edited known photo with its own original."""
    name = Path(result.signals.path).name
    return [m.tier for m in result.matches if name in {Path(s.origin or "").name for s in m.sources}]


def _copy(paths: list[Path], folder: Path) -> Path:
    folder.mkdir()
    for path in paths:
        shutil.copy(path, folder / path.name)
    return folder


def _plain_list(store: Store) -> None:
    rows = [ListRow("pdq", compute(str(p), p.read_bytes(), "exact").pdq or "", None, str(p)) for p in KNOWN]
    lists.import_rows(store, OPERATOR, "plain", rows)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, CalibrationResult]:
    folder = tmp_path_factory.mktemp("tiers")
    store = Store(f"sqlite:///{folder / 'v.db'}")
    _plain_list(store)
    return store, calibrate(store, OPERATOR, "plain", _copy(CALIBRATION, folder / "calibration"))


def _synthetic(slope: float, intercept: float) -> np.ndarray:
    """A million pair distances whose share within d is 10 ** (intercept + slope * d) in the tail."""
    shares = (np.arange(1_000_000) + 0.5) / 1_000_000
    return np.clip(np.floor((np.log10(shares) - intercept) / slope), 0, 256).astype(np.int64)


def _histogram(distances: np.ndarray) -> np.ndarray:
    return np.bincount(distances, minlength=257)


def test_the_tail_fit_recovers_a_known_log_linear_tail() -> None:
    distances = _synthetic(0.1, -12)
    fit = fit_tail(_histogram(distances))
    # the quantiles are those of the sorted distances themselves
    ordered = np.sort(distances)
    assert list(fit.quantiles.values()) == [
        int(ordered[int(q * ordered.size)]) for q in (1e-2, 1e-3, 1e-4, 1e-5)
    ]
    assert fit.slope == pytest.approx(0.1, rel=0.05)
    assert fit.pair_share(70) == pytest.approx(1e-5, rel=0.6)
    assert fit.quantiles == {"1e-02": 100, "1e-03": 90, "1e-04": 80, "1e-05": 70}
    with pytest.raises(ValueError, match="at least"):
        fit_tail(_histogram(distances[:5000]))
    with pytest.raises(ValueError, match="too uniform"):
        fit_tail(_histogram(np.full(200_000, 128)))


def test_the_weak_radius_narrows_as_the_list_grows_and_never_passes_its_bounds() -> None:
    fit = fit_tail(_histogram(_synthetic(0.2, -23)))  # about as steep as BSDS500 photos against a PDQ list
    small = fit.weak_radius(1_000, 20, 1e-6, STRONG_RADIUS)
    large = fit.weak_radius(10_000_000, 20, 1e-6, STRONG_RADIUS)
    assert STRONG_RADIUS <= large < small <= WEAK_CEILING
    assert fit.false_match(large, 10_000_000, 20) <= 1e-6 < fit.false_match(large + 1, 10_000_000, 20)
    assert fit.weak_radius(10_000_000, 20, 1e-30, STRONG_RADIUS) == STRONG_RADIUS  # no weak tier


def test_a_calibration_is_measured_stored_and_audited(calibrated: tuple[Store, CalibrationResult]) -> None:
    store, result = calibrated
    assert result.images == len(CALIBRATION)
    assert result.codes == len(KNOWN)
    assert result.pairs == result.hashes * len(KNOWN) >= 100_000
    assert STRONG_RADIUS < result.weak_radius <= WEAK_CEILING
    assert result.found == 0 and result.fit.closest > result.weak_radius
    with store.session() as tx:
        [row] = tx.query(ListCalibration).all()
    events = audit.events(store, action="list.calibrate")
    assert (row.weak_radius, row.codes, row.images) == (result.weak_radius, result.codes, result.images)
    [listed] = lists.stats(store)  # what `vigil lists stats` and GET /v1/lists show
    assert listed["calibration"]["weak_radius"] == result.weak_radius
    assert listed["calibration"]["quantiles"] == result.fit.quantiles and listed["calibration"]["found"] == 0
    assert [(e.actor, e.target, audit.detail_of(e)["weak_radius"]) for e in events] == [
        (OPERATOR.label, "plain", result.weak_radius)
    ]
    # the calibration images themselves are never-seen: none of them matches in any tier
    never = [compute(str(p), p.read_bytes(), "fast") for p in CALIBRATION]
    assert [r.signals.path for r in Matcher(store).match(never) if r.matches] == []


def test_small_crops_of_listed_photos_are_weak_matches_with_an_estimate(
    calibrated: tuple[Store, CalibrationResult],
) -> None:
    """A plain list (hashes only): crops of 2% are found by the weak tier, each with its estimated
    false-match probability; fresh photos under the same crop match nothing in any tier."""
    store, result = calibrated
    edit = EDITS["crop 2% tl"]
    matched = Matcher(store).match(_edited(KNOWN, edit))
    tiers = [_own(r) for r in matched]
    assert sum(bool(t) for t in tiers) >= 0.9 * len(KNOWN)
    assert sum(t == [Tier.WEAK] for t in tiers) >= 0.5 * len(KNOWN)  # most need the weak tier
    weak = [m for r in matched for m in r.matches if m.tier == Tier.WEAK]
    assert all(STRONG_RADIUS < m.distance <= result.weak_radius for m in weak)
    assert all(m.false_match is not None and 0 < m.false_match < 1e-4 for m in weak)
    strong_only = Matcher(store, MatchConfig(weak=False)).match(_edited(KNOWN, edit))
    assert sum(bool(_own(r)) for r in strong_only) <= 0.4 * len(KNOWN)
    fresh = Matcher(store).match(_edited(FRESH, edit))
    assert [r.signals.path for r in fresh if r.matches] == []


def test_a_list_never_calibrated_has_no_weak_tier(store: Store) -> None:
    _plain_list(store)
    matched = Matcher(store).match(_edited(KNOWN[:20], EDITS["crop 2% tl"]))
    found = [m for r in matched for m in r.matches]
    assert found and all(m.tier == Tier.STRONG and m.distance <= STRONG_RADIUS for m in found)
    assert all(m.false_match is None for m in found)


def test_weak_matches_enter_review_below_strong_ones_and_never_reach_hma_clients() -> None:
    def rank(*matches: tuple[str, str | None, dict[str, Any] | None]) -> float:
        return priority(match_kinds(matches), {}, set())

    def checked(verdict: str) -> dict[str, Any]:
        return {"verified": {"inliers": 0, "result": verdict}}

    weak, strong = rank(("pdq", "weak", None)), rank(("pdq", "strong", None))
    classifier = priority(set(), {"m": {"x": 1.0}}, set())
    assert classifier < rank(("pdq", "weak", checked("rejected"))) < weak
    assert (
        weak == rank(("pdq", "weak", checked("inconclusive"))) < rank(("pdq", "weak", checked("confirmed")))
    )
    assert rank(("pdq", "weak", checked("confirmed"))) < strong < rank(("md5", "exact", None))
    assert rank(("pdq", "weak", None), ("pdq", "strong", None)) == strong
    # matches recorded before tiers: the type's way of comparing stands in
    assert match_kinds([("sha256", None, None), ("pdq", None, None), ("vpdq", None, None)]) == {
        "exact",
        "strong",
    }


def test_a_scan_records_the_tier_and_queues_a_weak_match_at_lower_priority(
    calibrated: tuple[Store, CalibrationResult], tmp_path: Path
) -> None:
    from vigil.review import domain as review
    from vigil.sources.scan import report as scan_report
    from vigil.sources.scan.runner import ScanOptions, run_scan

    store, _ = calibrated
    folder = tmp_path / "in"
    folder.mkdir()
    weak = strong = None
    for path in KNOWN:  # one copy that only the weak tier finds, one the strong tier finds
        signals = _edited([path], EDITS["crop 2% tl"])[0]
        tiers = _own(Matcher(store).match([signals])[0])
        if tiers == [Tier.WEAK] and weak is None:
            weak = path
            (folder / "weak.jpg").write_bytes(_jpeg(EDITS["crop 2% tl"](Image.open(path).convert("RGB"))))
        elif tiers == [Tier.STRONG] and strong is None:
            strong = path
            shutil.copy(path, folder / "strong.jpg")
    assert weak is not None and strong is not None
    scan_id = run_scan(store, OPERATOR, folder, ScanOptions(workers=1))
    found = {Path(i["path"]).name: i["matches"] for i in scan_report.build(store, scan_id)["matches"]}
    assert [m["tier"] for m in found["weak.jpg"]] == ["weak"]
    assert [m["tier"] for m in found["strong.jpg"]] == ["strong"]
    assert 0 < found["weak.jpg"][0]["detail"]["false_match"] < 1e-4
    assert found["weak.jpg"][0]["detail"]["weak_on"] == ["plain"]  # the lists whose calibration admits it
    assert [entry["list"] for entry in found["weak.jpg"][0]["lists"]] == ["plain"]
    review.enqueue_scan(store, OPERATOR, scan_id)
    with store.session() as tx:
        from vigil.store.models import ReviewItem

        items = {Path(i.path or "").name: i for i in tx.query(ReviewItem).all()}
    assert items["weak.jpg"].priority < items["strong.jpg"].priority
    assert items["weak.jpg"].reason["matches"][0][4] == "weak"


def test_region_hashes_of_a_built_list_match_crops_up_to_10_percent(store: Store, tmp_path: Path) -> None:
    """`lists add-files` keeps crops, halves and quadrants of each image with its PDQ entry: copies
    cut by up to 10% from any side or corner match within the strong radius, and say which region."""
    known = KNOWN[:12]
    lists.add_files(store, OPERATOR, _copy(known, tmp_path / "known"), "built")
    found = pdq_codes(store)
    assert len(found.ids) > 20 * len(known)
    assert {"l10", "tl07", "c05", "h-top", "q-br", "d-r90", "d-fm1"} <= set(found.regions)
    assert [r.frames for r in lists.rows_of(store, "built", ["pdq"])] == [None] * len(known)  # never exported
    matcher = Matcher(store, MatchConfig(weak=False))
    for edit in ("crop 10% l", "crop 8% tr", "crop 5% b", "crop 10% all", "caption bottom"):
        matched = matcher.match(_edited(known, EDITS[edit]))
        assert sum(bool(_own(r)) for r in matched) >= 11, edit
    [hit] = [
        m for m in matcher.match(_edited(known[:1], EDITS["crop 10% l"]))[0].matches if m.hash_type == "pdq"
    ]
    assert hit.detail is not None and hit.detail["known_region"] == "l10" and hit.distance <= 12
    # the snapshot a service maps carries the regions too
    snapshot.write(store, tmp_path / "index")
    mapped = Matcher(store, MatchConfig(weak=False), snapshot_dir=tmp_path / "index")
    [again] = [
        m for m in mapped.match(_edited(known[:1], EDITS["crop 10% l"]))[0].matches if m.hash_type == "pdq"
    ]
    assert again.detail == hit.detail and again.distance == hit.distance


def test_without_region_hashes_a_cropped_copy_is_missed(store: Store, tmp_path: Path) -> None:
    known = KNOWN[:12]
    lists.add_files(store, OPERATOR, _copy(known, tmp_path / "known"), "built", regions=False)
    assert set(pdq_codes(store).regions) == {""}
    matched = Matcher(store, MatchConfig(weak=False)).match(_edited(known, EDITS["crop 10% l"]))
    assert sum(bool(_own(r)) for r in matched) <= 1


def test_region_hashes_skip_flat_regions_and_name_every_kept_one() -> None:
    gray = work_copy(gray8(np.asarray(Image.open(KNOWN[0]).convert("RGB"))))
    kept = known_regions.region_hashes(gray)
    names = [name for name, _ in known_regions.boxes()]
    assert len(names) == len(set(names)) == 36 and all(len(n) <= 8 for n in names)
    assert {name for name, _, _ in kept} <= set(names) and len(kept) >= 30
    flat = np.full_like(gray, 128)
    flat[:, : gray.shape[1] // 2] = 40  # one edge, nothing else: every region is too flat to keep
    assert len(known_regions.region_hashes(flat)) < len(names) // 2


def _flip(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1) << (256 - bits):064x}"


def test_the_json_api_reports_a_weak_match_and_the_hma_api_leaves_it_out(
    store: Store, tmp_path: Path
) -> None:
    """One server: `/v1/match/hash` answers with the tier and the estimate; HMA's `/m/lookup`, whose
    clients act on what it returns, finds the strong match and not the weak one."""
    import requests
    from tests.conftest import ServerThread
    from tests.test_scan import designate_known

    from vigil.interfaces.api.app import ServiceConfig, create_app
    from vigil.review.evidence import Vault
    from vigil.review.keys import create_key

    photo = KNOWN[0]
    designate_known(store, [photo])
    pdq = compute(str(photo), photo.read_bytes(), "exact").pdq or ""
    _calibrate_by_hand(store, "known", 48)
    app = create_app(
        store,
        Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key"),
        ServiceConfig(hma_anonymous_role="submitter"),
    )
    key = {"X-API-Key": create_key(store, OPERATOR, "platform", "submitter")}
    with ServerThread(app) as server:
        for bits, tier in ((20, "strong"), (40, "weak"), (50, None)):
            value = _flip(pdq, bits)
            body = {"hashes": [{"type": "pdq", "value": value}]}
            found = requests.post(f"{server.url}/v1/match/hash", json=body, headers=key).json()["matches"]
            assert [(m["tier"], m["distance"]) for m in found] == ([(tier, bits)] if tier else [])
            if tier == "weak":
                # a bare hash is one query hash against one code: 10 ** (-23 + 0.2 * 40.5)
                assert found[0]["false_match"] == pytest.approx(10 ** (-23 + 0.2 * 40.5), rel=1e-6)
            lookup = requests.get(f"{server.url}/m/lookup", params={"signal_type": "pdq", "signal": value})
            assert bool(lookup.json()) == (tier == "strong")


def test_a_new_signal_type_is_one_class_and_one_registration(store: Store, tmp_path: Path) -> None:
    """Nothing outside the type names it: list import validates its values, the matcher reads a
    file's value through it and matches it exactly, the JSON API's bare-hash path records it."""
    from vigil.signals import types as signal_types

    class Sha256Head(signal_types.HashType):
        """A toy type: the first 128 bits of the file's SHA-256 (a digest some partner might share)."""

        def of_file(self, signals: FileSignals) -> str | None:
            return signals.sha256[:32] or None

        def put(self, signals: FileSignals, value: str) -> None:
            signals.sha256 = value + "0" * 32

    kind = signal_types.register(Sha256Head("sha256-head", 32, ("sha256h",)))
    try:
        photo = KNOWN[0]
        head = compute(str(photo), photo.read_bytes(), "fast").sha256[:32]
        from vigil.lists.formats.base import make_row

        bad = make_row("partner.csv:2", "sha256h", "zz")
        assert not isinstance(bad, ListRow) and "not a sha256-head value" in bad.reason
        row = make_row("partner.csv:1", "SHA256H", head.upper(), "1")
        assert isinstance(row, ListRow) and row.hash_type == "sha256-head" and row.value == head
        lists.import_rows(store, OPERATOR, "partner", [row])
        [result] = Matcher(store).match([compute(str(photo), photo.read_bytes(), "fast")])
        assert [(m.hash_type, m.tier, m.distance) for m in result.matches] == [("sha256-head", Tier.EXACT, 0)]
        assert [m.hash_type for m in Matcher(store).match_hashes([("sha256-head", head)])] == ["sha256-head"]
        assert "sha256-head" in compute(str(photo), photo.read_bytes(), "fast").hashes()
    finally:
        signal_types.unregister(kind)
    assert "sha256-head" not in signal_types.HASH_TYPES


def _calibrate_by_hand(store: Store, name: str, weak_radius: int) -> None:
    """A calibration row as `vigil lists calibrate` writes one (for lists too small to calibrate)."""
    from vigil.store.repo import calibrations
    from vigil.store.repo import lists as lists_repo

    with store.transaction() as tx:
        calibrations.add(
            tx, lists_repo.get(tx, name).id, actor="test", images=400, hashes=9200, codes=1, sampled=1,
            pairs=9200, closest=90, quantiles={}, slope=0.2, intercept=-23.0, target=1e-6, strong_radius=31,
            weak_radius=weak_radius, found=0,
        )  # fmt: skip


def test_keypoints_confirm_weak_matches_of_a_built_list_and_reject_an_unrelated_picture(
    store: Store, tmp_path: Path
) -> None:
    """A crop beyond the deepest region hash (12% from a corner) is a weak match; the known
    picture's ORB keypoints confirm it, mirrored too. The same match claimed for an unrelated photo
    is rejected. Verdicts only order review."""
    from dataclasses import replace

    from vigil.match import verify
    from vigil.store.models import EntryFeatures

    known = KNOWN[:6]
    lists.add_files(store, OPERATOR, _copy(known, tmp_path / "known"), "built")
    with store.session() as tx:
        assert tx.query(EntryFeatures).count() == len(known)
    _calibrate_by_hand(store, "built", 56)
    matcher = Matcher(store)
    checked = mirrored = 0
    claims = []
    for path in known:
        for flip in (False, True):
            cut = EDITS["crop 10% tl"](Image.open(path).convert("RGB"))  # 10%, then 2% more
            cut = cut.crop((int(cut.width * 0.02), int(cut.height * 0.02), cut.width, cut.height))
            data = _jpeg(cut.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else cut)
            result = matcher.match([compute(path.name, data, "fast")])[0]
            weak = [m for m in result.matches if m.tier == Tier.WEAK]
            assert verify.check(store, result, data) == len(weak)  # strong matches are not checked
            verdicts = [m.detail["verified"] for m in result.matches if m.detail and "verified" in m.detail]
            assert len(verdicts) == len(weak)
            assert all(v["result"] == "confirmed" and v["inliers"] >= 100 for v in verdicts), verdicts
            checked += len(weak)
            mirrored += len(weak) if flip else 0
            claims += weak
    assert checked >= 8 and mirrored >= 3  # most of the 12 copies are weak matches, mirrored ones too
    stranger = FRESH[0].read_bytes()
    forged = ItemMatches(compute(FRESH[0].name, stranger, "fast"), [replace(claims[0], detail=None)])
    assert verify.check(store, forged, stranger) == 1
    [verdict] = [m.detail["verified"] for m in forged.matches if m.detail]
    assert verdict["result"] == "rejected" and verdict["inliers"] < verify.REJECT


def test_a_scan_checks_a_weak_match_by_keypoints_and_reviews_it_before_unchecked_ones(
    store: Store, tmp_path: Path
) -> None:
    from vigil.review import domain as review
    from vigil.sources.scan import report as scan_report
    from vigil.sources.scan.runner import ScanOptions, run_scan
    from vigil.store.models import ReviewItem

    lists.add_files(store, OPERATOR, _copy(KNOWN[:3], tmp_path / "known"), "built")
    _calibrate_by_hand(store, "built", 56)
    folder = tmp_path / "in"
    folder.mkdir()
    cut = EDITS["crop 10% tl"](Image.open(KNOWN[0]).convert("RGB"))
    (folder / "cut.jpg").write_bytes(
        _jpeg(cut.crop((int(cut.width * 0.03), int(cut.height * 0.03), *cut.size)))
    )
    scan_id = run_scan(store, OPERATOR, folder, ScanOptions(workers=1))
    [item] = scan_report.build(store, scan_id)["matches"]
    [match] = item["matches"]
    assert match["tier"] == "weak" and match["detail"]["verified"]["result"] == "confirmed"
    assert "keypoints confirmed" in scan_report.render_html(scan_report.build(store, scan_id))
    review.enqueue_scan(store, OPERATOR, scan_id)
    with store.session() as tx:
        [queued] = tx.query(ReviewItem).all()
    assert queued.priority == 80.0 and queued.reason["matches"][0][5]["result"] == "confirmed"


def test_the_pair_histogram_counts_every_pair_once_at_its_true_distance() -> None:
    from vigil.match.calibrate import pair_histogram

    rng = np.random.default_rng(3)
    queries = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    codes = np.concatenate([queries[:5], rng.integers(0, 256, (2000, 32), dtype=np.uint8)])
    truth = np.unpackbits(queries[:, None, :] ^ codes[None, :, :], axis=2).sum(axis=2).ravel()
    counts = pair_histogram(queries, codes)
    assert counts.sum() == 300 * 2005 and counts[0] == 5
    assert (counts == np.bincount(truth, minlength=257)).all()


def test_a_multi_index_hash_is_built_for_the_calibrated_weak_radius(store: Store, tmp_path: Path) -> None:
    """Large lists use the multi-index hash, which is exact up to the radius it was built for: with a
    calibrated weak radius it is built for that radius, in process and in the snapshot the service
    maps, so the weak tier works on large lists too."""
    from tests.test_scan import designate_known

    designate_known(store, KNOWN[:3])
    pdq = compute(str(KNOWN[0]), KNOWN[0].read_bytes(), "exact").pdq or ""
    assert Matcher(store, MatchConfig(index="mih")).match_hashes([("pdq", _flip(pdq, 40))]) == []
    _calibrate_by_hand(store, "known", 48)
    in_process = Matcher(store, MatchConfig(index="mih"))
    snapshot.write(store, tmp_path / "index", flat_limit=0)
    mapped = Matcher(store, snapshot_dir=tmp_path / "index")
    for matcher in (in_process, mapped):
        assert matcher.index_kind == "mih" and matcher.search_radius == 48
        found = matcher.match_hashes([("pdq", _flip(pdq, 40))])
        assert [(m.tier, m.distance) for m in found] == [(Tier.WEAK, 40)]


def test_police_triage_counts_a_file_as_known_only_on_a_strong_or_exact_match(store: Store) -> None:
    """A triage case summary says which attached files are known: a weak match is a lead for review,
    not that statement."""
    from tests.test_scan import designate_known

    from vigil.sources.triage.model import ReportFile
    from vigil.sources.triage.pipeline import matcher_lookup

    designate_known(store, KNOWN[:1])
    _calibrate_by_hand(store, "known", 48)
    pdq = compute(str(KNOWN[0]), KNOWN[0].read_bytes(), "exact").pdq or ""
    files = [ReportFile(f"{bits}.jpg", {"pdq": _flip(pdq, bits)}, True, False) for bits in (20, 40)]
    assert [m.tier for m in Matcher(store).match_hashes([("pdq", _flip(pdq, 40))])] == [Tier.WEAK]
    strong, weak = matcher_lookup(Matcher(store))(files)
    assert strong.known and strong.lists == ("known",) and strong.category == "1"
    assert not weak.known and weak.lists == () and weak.category is None
