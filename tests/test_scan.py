"""The main job end to end: lists from benign images, scans of folders and archives, resume, reports."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from sqlalchemy import func, select
from tests.conftest import BSDS, OPERATOR, bsds_images
from tests.test_lists import make_rdsv3

from vigil.core.errors import VigilError
from vigil.lists import domain as lists
from vigil.lists.formats import ListRow
from vigil.match.matcher import MatchConfig
from vigil.media.walk import ItemRef
from vigil.signals.items import hash_item
from vigil.sources.scan import report as scan_report
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store.db import Store
from vigil.store.models import Scan, ScanItem

KNOWN = bsds_images()[100:120]
OTHERS = bsds_images()[300:320]


def designate_known(store: Store, paths: list[Path], name: str = "known") -> None:
    rows = []
    for path in paths:
        signals = hash_item(ItemRef.of(path), "exact")
        rows += [ListRow(kind, value, "1", path.name) for kind, value in signals.hashes().items()]
    lists.import_rows(store, OPERATOR, name, rows, source="test designation")


def matched_paths(report: dict) -> set[str]:
    return {item["path"] for item in report["matches"]}


def test_scan_of_bsds500_reports_exactly_the_listed_images(store: Store) -> None:
    designate_known(store, KNOWN)
    scan_id = run_scan(store, OPERATOR, BSDS, ScanOptions(workers=2))
    report = scan_report.build(store, scan_id)
    assert matched_paths(report) == {str(p) for p in KNOWN}
    assert report["totals"]["images"] == 500 and report["totals"]["error"] == 0
    for item in report["matches"]:
        kinds = {m["hash_type"] for m in item["matches"]}
        assert kinds == {"md5", "sha1", "sha256", "pdq"}
        assert item["matches"][0]["lists"][0]["list"] == "known"


def _transformed(path: Path) -> dict[str, Image.Image]:
    image = Image.open(path).convert("RGB")
    return {
        "flip": ImageOps.mirror(image),
        "rot90": image.rotate(90, expand=True),
        "rot180": image.rotate(180),
        "half": image.resize((image.width // 2, image.height // 2)),
    }


def _save(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, set[str], set[str]]:
    """Copies of known images (transformed, some inside archives), unknown images, and broken files."""
    root = tmp_path / "case"
    (root / "sub").mkdir(parents=True)
    expected, broken = set(), set()
    for i, path in enumerate(KNOWN[:8]):
        for name, image in _transformed(path).items():
            fmt = "PNG" if i % 2 else "JPEG"
            target = root / "sub" / f"k{i}-{name}.{fmt.lower()}"
            target.write_bytes(_save(image, fmt))
            expected.add(str(target))
    for i, path in enumerate(OTHERS):
        (root / f"other{i}.jpg").write_bytes(_save(Image.open(path), "JPEG"))
    with zipfile.ZipFile(root / "bundle.zip", "w") as archive:
        for i, path in enumerate(KNOWN[8:12]):
            archive.writestr(f"in/zk{i}.jpg", _save(ImageOps.mirror(Image.open(path)), "JPEG"))
            expected.add(f"{root / 'bundle.zip'}!in/zk{i}.jpg")
        archive.writestr("in/unknown.jpg", _save(Image.open(OTHERS[0]).rotate(90, expand=True), "JPEG"))
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        data = KNOWN[12].read_bytes()
        info = tarfile.TarInfo("deep/exact-copy.jpg")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(root / "outer.zip", "w") as archive:
        archive.writestr("nested.tar.gz", inner.getvalue())
    expected.add(f"{root / 'outer.zip'}!nested.tar.gz!deep/exact-copy.jpg")
    good = KNOWN[0].read_bytes()
    (root / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (root / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    (root / "broken.zip").write_bytes(b"PK\x03\x04" + b"\xff" * 64)
    (root / "notes.txt").write_text("benign text")
    broken = {str(root / "truncated.jpg"), str(root / "garbage.png"), str(root / "broken.zip")}
    return root, expected, broken


def test_transformed_copies_and_archives_match_and_errors_are_listed(store: Store, mixed_folder) -> None:
    root, expected, broken = mixed_folder
    designate_known(store, KNOWN)
    scan_id = run_scan(store, OPERATOR, root, ScanOptions(workers=2))
    report = scan_report.build(store, scan_id)
    assert matched_paths(report) == expected
    errors = {e["path"]: e["reason"] for e in report["errors"]}
    assert set(errors) == broken
    assert "corrupt archive" in errors[str(root / "broken.zip")]
    assert "decode" in errors[str(root / "truncated.jpg")]
    flips = [m for item in report["matches"] if "-flip" in item["path"] for m in item["matches"]]
    assert flips and all(m["variant"] in ("flipx", "flipy") for m in flips if m["hash_type"] == "pdq")


def test_exact_mode_gives_the_same_matches(store: Store, mixed_folder) -> None:
    root, expected, _ = mixed_folder
    designate_known(store, KNOWN)
    scan_id = run_scan(store, OPERATOR, root, ScanOptions(mode="exact", workers=1))
    assert matched_paths(scan_report.build(store, scan_id)) == expected


def test_interrupted_scan_resumes_without_duplicates(store: Store, mixed_folder) -> None:
    root, expected, _ = mixed_folder
    designate_known(store, KNOWN)
    calls = []

    def stop_after_first_batch(step: int, total: int) -> None:
        calls.append(step)
        if sum(calls) > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_scan(store, OPERATOR, root, ScanOptions(workers=1), progress=stop_after_first_batch)
    with store.session() as session:
        scan = session.scalars(select(Scan)).one()
        partial = session.scalar(select(func.count()).select_from(ScanItem))
    assert scan.status == "interrupted" and partial > 0
    scan_id = run_scan(store, OPERATOR, root, ScanOptions(workers=1), resume=True)
    assert scan_id == scan.id
    report = scan_report.build(store, scan_id)
    with store.session() as session:
        paths = session.scalars(select(ScanItem.path).where(ScanItem.scan_id == scan_id)).all()
    assert len(paths) == len(set(paths)) == report["totals"]["items"]
    assert matched_paths(report) == expected
    assert report["scan"]["status"] == "done"
    with pytest.raises(VigilError):
        run_scan(store, OPERATOR, root, resume=True)


def test_known_benign_filter_suppresses_matches(store: Store, tmp_path: Path) -> None:
    designate_known(store, KNOWN[:2])
    signals = hash_item(ItemRef.of(KNOWN[0]), "exact")
    rds = tmp_path / "RDS.db"
    make_rdsv3(rds, [(signals.sha256, signals.sha1, signals.md5, "wallpaper.jpg")])
    from vigil.lists.formats import FORMATS

    lists.import_rows(store, OPERATOR, "nsrl", FORMATS.get("nsrl").read(rds), purpose="ignore")
    folder = tmp_path / "in"
    folder.mkdir()
    for path in KNOWN[:2]:
        (folder / path.name).write_bytes(path.read_bytes())
    report = scan_report.build(store, run_scan(store, OPERATOR, folder, ScanOptions(workers=1)))
    assert matched_paths(report) == {str(folder / KNOWN[1].name)}
    assert report["totals"]["ignored"] == 1


def test_thresholds_are_configurable(store: Store, tmp_path: Path) -> None:
    designate_known(store, KNOWN[:1], "pdq-only")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "flip.jpg").write_bytes(_save(ImageOps.mirror(Image.open(KNOWN[0])), "JPEG"))
    strict = scan_report.build(
        store, run_scan(store, OPERATOR, folder, ScanOptions(workers=1, match=MatchConfig(dihedral=False)))
    )
    assert strict["matches"] == []
    never = scan_report.build(
        store, run_scan(store, OPERATOR, folder, ScanOptions(workers=1, match=MatchConfig(min_quality=101)))
    )
    assert never["matches"] == [] and never["totals"]["low_quality"] == 1


def test_report_files_are_written_without_images(store: Store, tmp_path: Path) -> None:
    designate_known(store, KNOWN[:3])
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a<b>.jpg").write_bytes(KNOWN[0].read_bytes())
    report = scan_report.build(store, run_scan(store, OPERATOR, folder, ScanOptions(workers=1)))
    json_path, html_path = scan_report.write(report, tmp_path / "out")
    assert json.loads(json_path.read_text())["totals"]["matched"] == 1
    page = html_path.read_text()
    assert "a&lt;b&gt;.jpg" in page and "<img" not in page and "data:image" not in page
