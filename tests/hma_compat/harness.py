"""Harness for HMA 2.0's own API tests (OpenMediaMatch/tests in github:facebook/ThreatExchange),
run over HTTP against Vigil's service on a real uvicorn server.

HMA's tests drive a Flask test client. `HmaClient` offers the same surface (`get`/`post`/`put`/
`delete` with `json=`, `data=`, `query_string=`; responses with `.status_code`, `.json`,
`.get_json()`, `.data`, `.is_json`, `.get_data()`) but sends real HTTP requests, so the test bodies
and their assertions stay HMA's. `client.application.config[...]` translates HMA's settings to
Vigil's (`ROLE_HASHER`, `ALLOWED_HOSTNAMES`, `MAX_REMOTE_FILE_SIZE`).

The server is configured as `vigil serve --hma-compatible` configures it (HMA's trust-the-network
model: keyless callers act as admin), plus the loopback image server as an allowed host, and without
the background index watcher (HMA's test config turns its index cache task off the same way). Each
test gets an empty database, as HMA's `reset_tables()` gives it, so content ids start at 1.

Where HMA's tests reach into HMA's internals (its storage object, its index builder, a mocked
`requests.get`), the ported line says so in a comment starting `# Vigil:`; each test module lists
those lines in its docstring.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import tempfile
import threading
import time
import typing as t
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from tests.conftest import PDQ_REF, ServerThread
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.signal_base import SignalType

from vigil.interfaces.api.app import ServiceConfig, create_app
from vigil.interfaces.api.service import Service
from vigil.interfaces.hma.common import url_problem
from vigil.review.evidence import Vault
from vigil.store.db import Store

IMAGE_URL_TO_PDQ: dict[str, str] = {}  # filled by the image_server fixture, as in HMA's utils.py
MAX_REMOTE_FILE_SIZE = ServiceConfig().hma_max_remote_file_size
REFERENCE_PHOTO = "bridge-mods/aaa-orig.jpg"  # HMA's tests fetch this PDQ reference image from GitHub


class _ImageHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the test images; `/declared-huge.jpg` and `/declared-almost.jpg` announce a body of
    the size limit + 1 and - 1 bytes (what HMA's tests mock `requests.get` to say) and send 15 bytes."""

    def do_GET(self) -> None:
        declared = {"/declared-huge.jpg": 1, "/declared-almost.jpg": -1}.get(self.path)
        if declared is None:
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(MAX_REMOTE_FILE_SIZE + declared))
        self.end_headers()
        self.wfile.write(b"fake image data")
        self.close_connection = True

    def log_message(self, *_args: object) -> None:
        pass


def _checkerboard(cell: int) -> Image.Image:
    image = Image.new("RGB", (128, 128))
    pixels = image.load()
    assert pixels is not None
    for x in range(128):
        for y in range(128):
            pixels[x, y] = (255, 255, 255) if (x // cell + y // cell) % 2 else (0, 0, 0)
    return image


@pytest.fixture(scope="session")
def image_server() -> Iterator[str]:
    """HMA's image server: two checkerboards (different PDQ hashes), plus the reference photo HMA's
    tests take from GitHub, served from the shared data instead (no network in tests)."""
    folder = Path(tempfile.mkdtemp())
    try:
        _checkerboard(8).save(folder / "image1.jpg", format="JPEG")
        _checkerboard(16).save(folder / "image2.jpg", format="JPEG")
        (folder / "bridge-mods").mkdir()
        shutil.copy(PDQ_REF / REFERENCE_PHOTO, folder / REFERENCE_PHOTO)
        handler = functools.partial(_ImageHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        for name in ("image1.jpg", "image2.jpg", REFERENCE_PHOTO):
            IMAGE_URL_TO_PDQ[f"{base}/{name}"] = PdqSignal.hash_from_file(folder / name)
        yield base
        server.shutdown()
    finally:
        shutil.rmtree(folder)


class Response:
    """A Flask test-client response's surface over an httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status_code = response.status_code
        self.data = response.content

    @property
    def is_json(self) -> bool:
        return self._response.headers.get("content-type", "").startswith("application/json")

    @property
    def json(self) -> Any:
        return self._response.json() if self.is_json else None

    def get_json(self) -> Any:
        return self.json

    def get_data(self, as_text: bool = False) -> str | bytes:
        return self._response.text if as_text else self.data


class HmaSettings:
    """`app.config` of HMA, translated to the running service's configuration."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        config = self.service.config
        self.values[key] = value
        if key == "ROLE_HASHER":  # HMA's role switch; Vigil: a keyless role without match permission
            config.hma_anonymous_role = "admin" if value else "auditor"
        elif key == "ALLOWED_HOSTNAMES":  # empty: any host in HMA; `*` is Vigil's name for that
            config.hma_allowed_hosts = tuple(value) or ("*",)
        elif key == "MAX_REMOTE_FILE_SIZE":
            config.hma_max_remote_file_size = value or ServiceConfig().hma_max_remote_file_size
        else:
            raise KeyError(f"no Vigil equivalent for HMA setting {key}")


class _Application:
    def __init__(self, service: Service) -> None:
        self.config = HmaSettings(service)


class HmaClient:
    """Flask's test-client calls, sent as HTTP requests to the running server."""

    def __init__(self, base_url: str, service: Service) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.service = service
        self.application = _Application(service)

    def open(
        self,
        method: str,
        path: str,
        json: Any = None,
        data: dict[str, Any] | None = None,
        query_string: dict[str, Any] | None = None,
    ) -> Response:
        files: dict[str, Any] = {}
        form: dict[str, str] = {}
        for key, value in (data or {}).items():
            if isinstance(value, tuple):  # Flask: (path or file, filename, content type)
                source, filename, kind = value
                body = Path(source).read_bytes() if isinstance(source, str) else source.read()
                files[key] = (filename, body, kind)
            else:
                form[key] = value
        params = {k: str(v) for k, v in (query_string or {}).items()}
        response = self.http.request(
            method, path, json=json, params=params or None, files=files or None, data=form or None
        )
        return Response(response)

    def get(self, path: str, **kw: Any) -> Response:
        return self.open("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.open("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Response:
        return self.open("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.open("DELETE", path, **kw)


class App:
    """What HMA's `app` fixture stands for here: the service object behind the running server, with
    HMA's `config` (translated) and `app_context()` (nothing to enter: Vigil has no app globals)."""

    current: App | None = None  # the app of the running test, for `is_valid_url`

    def __init__(self, service: Service, store: Store) -> None:
        self.service, self.store = service, store
        self.config = HmaSettings(service)
        App.current = self

    @contextlib.contextmanager
    def app_context(self) -> Iterator[None]:
        yield


def is_valid_url(url: str | None) -> bool:
    """HMA's `hashing.is_valid_url` for the running app: Vigil's check under the app's settings."""
    assert App.current is not None
    return url_problem(url, App.current.service.config.hma_allowed_hosts) is None


@pytest.fixture
def served(store: Store, tmp_path: Path, image_server: str) -> Iterator[tuple[App, HmaClient]]:
    config = ServiceConfig(
        hma_anonymous_role="admin",  # = --hma-compatible
        hma_allowed_hosts=("*", "127.0.0.1"),  # --hma-compatible, plus the loopback image server
        index_watch=False,  # HMA's tests: TASK_INDEX_CACHE = False
    )
    app = create_app(store, Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key"), config)
    service = app.state.service
    with ServerThread(app) as server:
        client = HmaClient(server.url, service)
        yield App(service, store), client
        client.http.close()


@pytest.fixture
def app(served: tuple[App, HmaClient]) -> App:
    return served[0]


@pytest.fixture
def client(served: tuple[App, HmaClient]) -> HmaClient:
    return served[1]


def create_bank(client: HmaClient, bank_name: str) -> None:
    post_response = client.post("/c/banks", json={"name": bank_name})
    assert post_response.status_code == 201
    assert post_response.json == {"matching_enabled_ratio": 1.0, "name": bank_name}


def add_hash_to_bank(client: HmaClient, bank_name: str, image_url: str, content_id: int = 1) -> None:
    post_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert post_response.status_code == 200
    assert post_response.json == {"id": content_id, "signals": {"pdq": IMAGE_URL_TO_PDQ[image_url]}}


def build_all_indices(client: HmaClient) -> None:
    """HMA builds its index in a background task its tests call by hand. Vigil's service rebuilds by
    itself when the lists change; this waits, over HTTP, until the index says it is current."""
    for _ in range(150):
        status = client.get("/m/index/status").json
        if not any(t.cast(dict[str, Any], info)["stale"] for info in status.values()):
            return
        client.get("/m/lookup", query_string={"signal_type": "pdq", "signal": "0" * 64})  # a match catches up
        time.sleep(0.1)  # the service looks at the store's generation once a second
    raise AssertionError(f"index still stale: {json.dumps(status)}")


@dataclass(frozen=True)
class SignalTypeConfig:
    """HMA's signal type config as `GET /c/signal_type` reports it."""

    signal_type: type[SignalType]
    enabled_ratio: float

    @property
    def enabled(self) -> bool:
        return self.enabled_ratio > 0


def signal_type_configs(client: HmaClient) -> dict[str, SignalTypeConfig]:
    """HMA's `storage.get_signal_type_configs()`, read over HTTP (python-threatexchange's classes)."""
    installed = {cls.get_name(): cls for cls in (PdqSignal, VideoMD5Signal, VideoSHA256Signal)}
    listed = client.get("/c/signal_type").json
    return {c["name"]: SignalTypeConfig(installed[c["name"]], c["enabled_ratio"]) for c in listed}
