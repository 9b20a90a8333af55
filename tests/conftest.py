"""Shared fixtures: the benign shared data beside the checkout, and a fresh SQLite store per test."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from vigil.core.actor import Actor
from vigil.review import keys
from vigil.store.db import Store

DATA = (Path(__file__).resolve().parents[1].parent / "shared" / "data").resolve()
BSDS = DATA / "bsds500"
PDQ_REF = DATA / "pdq-reference"
CYBERTIP_XSD = DATA / "ncmec" / "cyber_tipline.xsd"
os.environ.setdefault("VIGIL_CYBERTIP_XSD", str(CYBERTIP_XSD))  # NCMEC's schema, never a copy of it


OPERATOR = Actor.operator("tester")  # the CLI-style actor tests act as


def key_holder(store: Store, name: str, role: str) -> tuple[str, Actor]:
    """A new API key for `name` and the Actor it authenticates as."""
    key = keys.create_key(store, OPERATOR, name, role)
    actor = keys.authenticate(store, key)
    assert actor is not None
    return key, actor


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


PG_URL = os.environ.get("VIGIL_TEST_DATABASE_URL")  # set by .ci/run for the PostgreSQL pass


def fresh_store(tmp_path: Path) -> Store:
    """An empty migrated store: SQLite in tmp_path, or a clean schema on the test PostgreSQL."""
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return Store(PG_URL)
    return Store(f"sqlite:///{tmp_path / 'vigil.db'}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    created = fresh_store(tmp_path)
    yield created
    created.close()


class ServerThread:
    """A real uvicorn server for an ASGI app on a free loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
