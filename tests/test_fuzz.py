"""Fuzz-style robustness: random corruption of images and list files yields per-item errors, never a crash."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import PDQ_REF, bsds_images

from vigil.core.errors import ItemError
from vigil.lists.formats import FORMATS, ListRow
from vigil.signals.compute import compute

SEEDS = [p for p in bsds_images()[:3]] + [PDQ_REF / "misc-images/c.png", PDQ_REF / "misc-images/modes/P.png"]


def test_random_truncation_and_bit_flips_never_raise() -> None:
    rng = random.Random(1234)
    outcomes = {"error": 0, "hashed": 0}
    for seed in SEEDS:
        data = seed.read_bytes()
        for _ in range(25):
            mutated = bytearray(data[: rng.randrange(1, len(data))] if rng.random() < 0.5 else data)
            for _ in range(rng.randrange(0, 20)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            for mode in ("fast", "exact"):
                signals = compute(seed.name, bytes(mutated), mode)
                assert len(signals.sha256) == 64
                outcomes["error" if signals.error else "hashed"] += 1
    assert outcomes["error"] > 0  # the corpus really contains undecodable files


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_list_parsers_survive_arbitrary_text(tmp_path: Path, text: str) -> None:
    for name, suffix in (("csv", "csv"), ("vics", "json"), ("plain", "txt")):
        path = tmp_path / f"fuzz.{suffix}"
        path.write_text(text, encoding="utf-8")
        for row in FORMATS.get(name).read(path):
            assert isinstance(row, ListRow | ItemError)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(
        st.lists(
            st.one_of(st.sampled_from(["md5", "sha1", "pdq", "MD5", ""]), st.text(max_size=70)), max_size=5
        ),
        max_size=30,
    )
)
def test_csv_rows_of_random_cells(tmp_path: Path, cells: list[list[str]]) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("\n".join(",".join(c.replace(",", " ").replace("\n", " ") for c in row) for row in cells))
    for row in FORMATS.get("csv").read(path):
        if isinstance(row, ListRow):
            assert row.hash_type in {"md5", "sha1", "sha256", "pdq"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    media=st.lists(
        st.dictionaries(
            st.sampled_from(["MD5", "SHA1", "Category", "AlternativeHashes", "MediaID"]),
            st.one_of(
                st.none(),
                st.integers(),
                st.text(max_size=50),
                st.lists(st.dictionaries(st.text(max_size=10), st.text(max_size=70))),
            ),
        ),
        max_size=10,
    )
)
def test_vics_random_media_objects(tmp_path: Path, media: list[dict[str, object]]) -> None:
    import json

    path = tmp_path / "m.json"
    path.write_text(json.dumps({"value": media}))
    for row in FORMATS.get("vics").read(path):
        assert isinstance(row, ListRow | ItemError)
