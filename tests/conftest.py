"""Shared fixtures: the benign shared data beside the checkout, and a fresh SQLite store per test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vigil.store.db import Store

DATA = (Path(__file__).resolve().parents[1].parent / "shared" / "data").resolve()
BSDS = DATA / "bsds500"
PDQ_REF = DATA / "pdq-reference"


def bsds_images() -> list[Path]:
    return sorted(BSDS.rglob("*.jpg"))


def pdq_reference_pairs() -> list[tuple[Path, str]]:
    """(image, expected hash) pairs from Meta's reference test, for the images that exist."""
    text = (PDQ_REF / "pdq_test_reference.py").read_text()
    pairs = re.findall(r'SAMPLE_MEDIA \+ "([^"]+)",\s*"([0-9a-f]{64})"', text)
    return [(PDQ_REF / rel, expected) for rel, expected in pairs if (PDQ_REF / rel).exists()]


@pytest.fixture(scope="session", autouse=True)
def _shared_data() -> None:
    if not BSDS.is_dir():
        pytest.exit(f"shared test data not found at {DATA}", returncode=2)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'vigil.db'}")
