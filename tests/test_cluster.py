"""Scale-out: a scan on a Dask LocalCluster with 2 workers stores exactly what an embedded scan stores."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps
from sqlalchemy import select
from tests.conftest import DATA, OPERATOR, bsds_images, fresh_store
from tests.test_scan import designate_known

from vigil.sources.scan import report as scan_report
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store.models import ScanItem

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as local:
        yield local.scheduler_address


def _items(store, scan_id: int) -> list[tuple]:
    with store.session() as session:
        rows = session.scalars(select(ScanItem).where(ScanItem.scan_id == scan_id).order_by(ScanItem.path))
        return [(r.path, r.status, r.md5, r.sha256, r.pdq, r.pdq_quality, r.frames, r.error) for r in rows]


def _matches(report: dict[str, Any]) -> list[tuple]:
    """Matches without store-specific values (list insertion times)."""
    return [
        (
            item["path"],
            m["hash_type"],
            m["value"],
            m["distance"],
            m["variant"],
            [e["list"] for e in m["lists"]],
        )
        for item in report["matches"]
        for m in item["matches"]
    ]


def test_cluster_scan_equals_embedded_scan(cluster: str, tmp_path: Path) -> None:
    folder = tmp_path / "share"
    folder.mkdir()
    for path in bsds_images()[:60]:
        shutil.copy(path, folder / path.name)
    ImageOps.mirror(Image.open(bsds_images()[0])).save(folder / "flipped.png")
    (folder / "broken.jpg").write_bytes(bsds_images()[1].read_bytes()[:500])
    shutil.copy(DATA / "video-samples/tmk-sample-videos/doorknob-hd-no-bar.mp4", folder / "clip.mp4")
    results = {}
    for name, options in (("embedded", ScanOptions(workers=1)), ("cluster", ScanOptions(cluster=cluster))):
        (tmp_path / name).mkdir()
        store = fresh_store(tmp_path / name)  # on PostgreSQL each pass starts from an empty schema
        designate_known(store, bsds_images()[:5])
        scan_id = run_scan(store, OPERATOR, folder, options)
        report = scan_report.build(store, scan_id)
        results[name] = (_items(store, scan_id), _matches(report), report["totals"])
        store.close()
    assert results["embedded"] == results["cluster"]
    _, matches, totals = results["cluster"]
    assert totals["items"] == 63 and totals["error"] == 1 and totals["videos"] == 1
    expected = {p.name for p in bsds_images()[:5]} | {"flipped.png"}
    assert {path.rsplit("/", 1)[-1] for path, *_ in matches} == expected


def test_a_worker_with_a_cluster_runs_queued_scans_on_it(cluster: str, tmp_path: Path) -> None:
    """`vigil worker --cluster` hashes the scans the API queues on the Dask cluster."""
    from vigil.sources import jobs

    folder = tmp_path / "share"
    folder.mkdir()
    for path in bsds_images()[:6]:
        shutil.copy(path, folder / path.name)
    store = fresh_store(tmp_path)
    designate_known(store, bsds_images()[:2])
    job_id = jobs.queue_scan(store, OPERATOR, folder, {"votes": 2})
    done = jobs.run_next(store, cluster=cluster)
    assert done is not None and done.id == job_id and done.status == "done", done.error if done else None
    report = scan_report.build(store, done.result["scan_id"])
    assert report["totals"]["items"] == 6 and done.result["queued_for_review"] == 2
    store.close()
