"""The command line as a user drives it: build a list, scan, inspect, export and re-import."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import BSDS, DATA, PDQ_REF, bsds_images
from typer.testing import CliRunner

from vigil.interfaces.cli.main import app
from vigil.media.decode import decode
from vigil.signals import pdq

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_flow(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'v.db'}"
    out = invoke("lists", "add-files", str(BSDS / "test"), "--name", "demo", "--limit", "20", "--db", db)
    assert "80 rows read, 80 new entries, 0 rejected" in out
    out = invoke(
        "scan", str(BSDS / "test"), "--db", db, "--report-dir", str(tmp_path / "r"), "--workers", "2"
    )
    report = json.loads(next((tmp_path / "r").glob("*.json")).read_text())
    expected = {str(p) for p in sorted((BSDS / "test").glob("*.jpg"))[:20]}
    assert {m["path"] for m in report["matches"]} == expected
    assert out.count("match ") == 20
    stats = json.loads(invoke("lists", "stats", "--db", db, "--json"))
    assert stats[0]["by_type"] == {"md5": 20, "pdq": 20, "sha1": 20, "sha256": 20}
    invoke("lists", "export", "demo", "--out", str(tmp_path / "demo.json"), "--format", "vics", "--db", db)
    out = invoke("lists", "import", str(tmp_path / "demo.json"), "--name", "again", "--db", db)
    assert "80 rows read, 0 new entries" in out
    invoke("report", str(report["scan"]["id"]), "--db", db, "--out", str(tmp_path / "r2"))
    assert (tmp_path / "r2" / f"scan-{report['scan']['id']}.html").exists()


def test_hash_command_matches_reference(tmp_path: Path) -> None:
    image = PDQ_REF / "reg-test-input/dih/bridge-1-original.jpg"
    data = json.loads(invoke("hash", str(image), "--json"))
    assert pdq.hamming(data["pdq"], "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22") <= 16
    assert data["pdq"] == pdq.exact(decode(image.read_bytes(), "exact")).hash_hex
    assert len(data["pdq_dihedral"]) == 8


def test_user_errors_exit_cleanly(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'v.db'}"
    result = runner.invoke(app, ["scan", str(tmp_path / "missing"), "--db", db])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["lists", "export", "nope", "--out", str(tmp_path / "x.csv"), "--db", db])
    assert result.exit_code == 2 and "no list named" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("hash_type,value\nmd5,zz\n")
    result = runner.invoke(app, ["lists", "import", str(bad), "--name", "x", "--db", db])
    assert result.exit_code == 1 and "1 rejected" in result.output and "nothing was imported" in result.output
    assert bsds_images()


def test_video_list_import_from_folder_and_scan(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'v.db'}"
    hashes = DATA / "video-samples" / "vpdq-sample-hashes"
    folder = tmp_path / "refs"
    folder.mkdir()
    for name in ("pattern-hd-no-bar", "doorknob-hd-no-bar"):
        (folder / f"{name}.txt").write_text((hashes / f"{name}.txt").read_text())
    out = invoke("lists", "import", str(folder), "--format", "vpdq", "--name", "videos", "--db", db)
    assert "2 rows read, 2 new entries, 0 rejected" in out
    case = tmp_path / "case"
    case.mkdir()
    video = DATA / "video-samples" / "tmk-sample-videos" / "pattern-sd-grey-bar.mp4"
    (case / "upload.mp4").write_bytes(video.read_bytes())
    out = invoke("scan", str(case), "--db", db, "--report-dir", str(tmp_path / "r"), "--workers", "1")
    assert "vpdq" in out and "videos" in out
    page = next((tmp_path / "r").glob("*.html")).read_text()
    assert "query 0:00.0-0:06.0 of known 0:00.0-0:06.0" in page


def test_the_vigil_program_skips_exit_collections_and_leaves_no_write_ahead_log(tmp_path: Path) -> None:
    """`vigil` (the installed script runs `main`) ends without the interpreter's collections over
    what the command loaded, and its SQLite store is still checkpointed and closed: no `-wal` file
    beside the database, the rows in the database file itself, the command's output whole."""
    import subprocess
    import sys
    import tomllib

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["vigil"] == "vigil.interfaces.cli.main:main"
    database = tmp_path / "v.db"
    program = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "from vigil.interfaces.cli.main import main\n"
        f"sys.argv = ['vigil', 'lists', 'add-files', {str(BSDS / 'test')!r}, '--name', 'demo',"
        f" '--limit', '3', '--db', 'sqlite:///{database}']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "12 rows read, 12 new entries, 0 rejected" in done.stdout
    assert done.stdout.rstrip().endswith("frozen at exit: True")  # atexit handlers still run, after it
    assert not database.with_name("v.db-wal").exists()
    only_the_file = tmp_path / "copy.db"
    only_the_file.write_bytes(database.read_bytes())  # what a copy of the database file alone holds
    stats = json.loads(invoke("lists", "stats", "--db", f"sqlite:///{only_the_file}", "--json"))
    assert stats[0]["by_type"] == {"md5": 3, "pdq": 3, "sha1": 3, "sha256": 3}
