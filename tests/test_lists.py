"""Hash lists: each format imports, exports and round-trips; duplicates merge but keep every source."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import OPERATOR

from vigil.core.errors import Conflict, ItemError
from vigil.lists import domain as lists
from vigil.lists.formats import FORMATS, ListRow
from vigil.lists.formats.base import detect
from vigil.lists.formats.plain import PlainFormat
from vigil.store.db import Store
from vigil.store.repo import lists as list_repo

MD5 = "9e107d9d372bb6826bd81d3542a419d6"
SHA1 = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
SHA256 = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"
PDQ = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"


def _read(fmt: str, path: Path) -> tuple[list[ListRow], list[ItemError]]:
    rows = list(FORMATS.get(fmt).read(path))
    return [r for r in rows if isinstance(r, ListRow)], [r for r in rows if isinstance(r, ItemError)]


def test_csv_with_header_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "hash_type,value,category,source\n"
        f"md5,{MD5.upper()},1,partner-a\n"
        f"pdq,{PDQ},2,\n"
        "md5,nothex,1,\n"
        "crc32,abcd,1,\n"
        ",\n"
        "sha1\n"
    )
    rows, errors = _read("csv", path)
    assert rows == [ListRow("md5", MD5, "1", "partner-a"), ListRow("pdq", PDQ, "2", None)]
    assert [e.where for e in errors] == ["list.csv:4", "list.csv:5", "list.csv:7"]
    assert "unknown hash type" in errors[1].reason


def test_csv_hash_type_columns_and_headerless(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(f"MD5,SHA1,Category\n{MD5},{SHA1},3\n,,\n")
    rows, errors = _read("csv", wide)
    assert {(r.hash_type, r.category) for r in rows} == {("md5", "3"), ("sha1", "3")} and not errors
    bare = tmp_path / "bare.csv"
    bare.write_text(f"sha256,{SHA256}\n")
    rows, _ = _read("csv", bare)
    assert rows == [ListRow("sha256", SHA256)]


def _vics(media: list[object], bom: bool = True) -> str:
    text = json.dumps(
        {"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media", "value": media}
    )
    return ("\ufeff" if bom else "") + text


def test_vics_with_bom_and_alternative_hashes(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    media = [
        {
            "MediaID": 1,
            "Category": 1,
            "MD5": MD5.upper(),
            "SHA1": SHA1,
            "AlternativeHashes": [
                {"HashName": "PhotoDNA", "HashValue": "AAAA"},
                {"HashName": "PDQ", "HashValue": PDQ},
            ],
        },
        {"MediaID": 2, "Category": 0, "AlternativeHashes": [{"HashName": "SHA256", "HashValue": SHA256}]},
        {"MediaID": 3, "Category": 2},
        "not an object",
        {"MediaID": 4, "MD5": "xyz"},
    ]
    path.write_text(_vics(media), encoding="utf-8")
    rows, errors = _read("vics", path)
    assert [(r.hash_type, r.category) for r in rows] == [
        ("md5", "1"),
        ("sha1", "1"),
        ("pdq", "1"),
        ("sha256", "0"),
    ]
    assert len(errors) == 3 and all(e.where.startswith("case.json:value[") for e in errors)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"value": 3}', '\ufeff{"odata.metadata": 1}'])
def test_vics_malformed_documents_are_one_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    rows, errors = _read("vics", path)
    assert rows == [] and len(errors) == 1


def test_plain_needs_type_for_ambiguous_lengths(tmp_path: Path) -> None:
    path = tmp_path / "hashes.txt"
    path.write_text(f"# comment\n{MD5}\n{SHA1}  trailing\n{SHA256}\n\n")
    rows = list(PlainFormat().read(path))
    assert [getattr(r, "hash_type", None) for r in rows] == ["md5", "sha1", None]
    typed = [r for r in PlainFormat("pdq").read(tmp_path / "hashes.txt") if isinstance(r, ListRow)]
    assert [r.hash_type for r in typed] == ["pdq"]


@pytest.mark.parametrize("fmt", ["csv", "vics", "plain"])
def test_export_import_round_trip(tmp_path: Path, store: Store, fmt: str) -> None:
    original = [ListRow("md5", MD5, "1", "a"), ListRow("sha1", SHA1, "2", "b"), ListRow("pdq", PDQ, "1", "c")]
    if fmt == "plain":
        original = [ListRow("md5", MD5), ListRow("sha1", SHA1)]
    lists.import_rows(store, OPERATOR, "orig", original)
    out = tmp_path / f"out.{ {'csv': 'csv', 'vics': 'json', 'plain': 'txt'}[fmt] }"
    assert FORMATS.get(fmt).write(lists.rows_of(store, "orig"), out) == len(original)
    assert detect(out).name == fmt
    back, errors = _read(fmt, out)
    assert not errors
    assert sorted((r.hash_type, r.value, r.category) for r in back) == sorted(
        (r.hash_type, r.value, r.category) for r in original
    )


def test_duplicates_merge_and_keep_all_sources(store: Store) -> None:
    first = lists.import_rows(
        store, OPERATOR, "partner-a", [ListRow("md5", MD5, "1"), ListRow("pdq", PDQ, "1")], source="A"
    )
    second = lists.import_rows(
        store, OPERATOR, "partner-b", [ListRow("md5", MD5, "2"), ListRow("md5", MD5, "2")], source="B"
    )
    assert (first.new_entries, second.new_entries) == (2, 0)
    with store.session() as session:
        ids = list_repo.lookup_exact(session, [("md5", MD5)])
        sources = list_repo.provenance(session, ids.values())[ids[("md5", MD5)]]
    assert [(p.list_name, p.category) for p in sources] == [("partner-a", "1"), ("partner-b", "2")]
    stats = {row["name"]: row for row in lists.stats(store)}
    assert stats["partner-a"]["by_type"] == {"md5": 1, "pdq": 1}
    assert stats["partner-a"]["shared_with_other_lists"] == 1
    assert stats["partner-b"]["entries"] == 1


def test_list_purpose_conflict_is_refused(store: Store) -> None:
    lists.import_rows(store, OPERATOR, "nsrl", [ListRow("md5", MD5)], purpose="ignore")
    with pytest.raises(Conflict, match="purpose"):
        lists.import_rows(store, OPERATOR, "nsrl", [ListRow("md5", MD5)], purpose="known")


def make_rdsv3(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """A tiny database in the NSRL RDSv3 layout (FILE table; sha256, sha1, md5 upper-case hex)."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,"
        " crc32 VARCHAR, file_name VARCHAR NOT NULL, file_size INTEGER, package_id INTEGER)"
    )
    conn.executemany(
        "INSERT INTO FILE VALUES (?, ?, ?, '00000000', ?, 1, 1)",
        [(s256.upper(), s1.upper(), m5.upper(), name) for s256, s1, m5, name in rows],
    )
    conn.commit()
    conn.close()


def test_nsrl_rdsv3_reader(tmp_path: Path) -> None:
    db = tmp_path / "RDS.db"
    make_rdsv3(db, [(SHA256, SHA1, MD5, "kernel32.dll")])
    rows, errors = _read("nsrl", db)
    assert not errors
    assert {(r.hash_type, r.value, r.origin) for r in rows} == {
        ("md5", MD5, "kernel32.dll"),
        ("sha1", SHA1, "kernel32.dll"),
        ("sha256", SHA256, "kernel32.dll"),
    }
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"not sqlite at all" * 10)
    rows, errors = _read("nsrl", bogus)
    assert rows == [] and len(errors) == 1


def test_an_oversized_field_rejects_its_row_only(tmp_path: Path) -> None:
    path = tmp_path / "big-field.csv"
    path.write_text(f'md5,{MD5},1\nmd5,"{"x" * 200_000}",1\nmd5,{"b" * 32},2\n')
    rows, errors = _read("csv", path)
    assert [r.value for r in rows] == [MD5, "b" * 32]
    assert len(errors) == 1 and errors[0].where == "big-field.csv:2" and "field larger" in errors[0].reason


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_lists_are_read_in_their_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(f"hash_type,value,category\nmd5,{MD5},Ünïcode\n".encode(encoding))
    rows, errors = _read("csv", path)
    assert not errors and [(r.value, r.category) for r in rows] == [(MD5, "Ünïcode")]
    plain = tmp_path / f"{encoding}.txt"
    plain.write_bytes(f"# list\n{MD5}\n".encode(encoding))
    assert [r.value for r in PlainFormat("md5").read(plain)] == [MD5]  # type: ignore[union-attr]


def test_a_truncated_vics_feed_keeps_every_whole_entry(tmp_path: Path) -> None:
    values = [f"{i:032x}" for i in range(1, 6)]
    full = tmp_path / "full.json"
    FORMATS.get("vics").write([ListRow("md5", v, "1") for v in values], full)
    text = full.read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index(values[3].upper()) + 10])  # breaks inside the fourth entry
    rows, errors = _read("vics", cut)
    assert [r.value for r in rows] == values[:3]
    assert len(errors) == 1 and "value[3]" in errors[0].where and "truncated" in errors[0].reason


def test_a_killed_import_never_matches_until_it_is_published(store: Store, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from vigil.match.matcher import Matcher

    known = "f" * 32
    path = tmp_path / "big.csv"
    with path.open("w") as handle:
        handle.write(f"hash_type,value,category\nmd5,{known},1\n")
        handle.writelines(f"md5,{os.urandom(16).hex()},1\n" for _ in range(450_000))
    argv = [sys.executable, "-m", "vigil.interfaces.cli.main", "lists", "import", str(path), "--name", "big"]
    process = subprocess.Popen([*argv, "--db", store.url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    staged = 0
    while staged == 0:
        assert process.poll() is None and time.monotonic() < deadline, "the import ended before it was killed"
        time.sleep(0.05)
        with store.engine.connect() as conn:
            staged = conn.execute(text("SELECT count(*) FROM list_import_rows")).scalar_one()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert Matcher(store).match_hashes([("md5", known)]) == []
    [row] = lists.stats(store)
    assert row["entries"] == 0 and row["incomplete_imports"] == 1
    result = lists.import_rows(store, OPERATOR, "big", FORMATS.get("csv").read(path))
    assert result.rows == 450_001 and result.new_entries == 450_001
    assert [m.hash_type for m in Matcher(store).match_hashes([("md5", known)])] == ["md5"]
    [row] = lists.stats(store)
    assert row["incomplete_imports"] == 0 and row["last_import"]["status"] == "published"
    with store.engine.connect() as conn:
        states = conn.execute(text("SELECT status FROM list_imports ORDER BY id")).scalars().all()
        assert states == ["superseded", "published"]
        assert conn.execute(text("SELECT count(*) FROM list_import_rows")).scalar_one() == 0
