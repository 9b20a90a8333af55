"""HMA 2.0's tests/test_api.py, ported (github:facebook/ThreatExchange, hasher-matcher-actioner/src/
OpenMediaMatch/tests/test_api.py). Same requests, same assertions, over HTTP against Vigil.

Adapted lines (each marked `# Vigil:` below):
- test_status_response / test_status_response_live: HMA swaps its index cache for a fake
  (`monkeypatch.setattr(matching, "_get_index_cache", ...)`) to reach "not loaded" and "stale"; here the
  same states are set on the service's live index (`ready`, `checked_at`) and the staleness limit
  (`hma_index_stale_after`, HMA's `sec_old_before_stale`).
- test_lookup_success: HMA asserts `storage.get_signal_type_index(PdqSignal) is None` before calling its
  index builder; Vigil always has an index (empty at first) and rebuilds it itself, so the line is
  `build_all_indices(client)` (wait until current) and the emptiness check is dropped.
- test_exchange_api_set_auth / test_exchange_api_schema: HMA narrows the installed exchange types to
  two (`storage.exchange_types = ...`); Vigil installs more (file, ncmec, stop_ncii), so the listing is
  checked to contain those two instead of being equal to them.
"""

from __future__ import annotations

import tempfile
import time
import typing as t
from io import BytesIO

import requests
from PIL import Image
from pytest import MonkeyPatch
from tests.hma_compat.harness import App, HmaClient, build_all_indices
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCredentials,
    FBThreatExchangeSignalExchangeAPI,
)
from threatexchange.exchanges.impl.static_sample import StaticSampleSignalExchangeAPI
from threatexchange.utils import dataclass_json


def test_status_response(app: App, client: HmaClient, monkeypatch: MonkeyPatch) -> None:
    response = client.get("/status")
    assert response.status_code == 200
    assert response.data == b"I-AM-ALIVE"

    index = app.service.matchers  # Vigil: the live index stands in for HMA's cache value
    monkeypatch.setattr(index, "ready", False)
    monkeypatch.setattr(index, "checked_at", 0.0)
    monkeypatch.setattr(app.service.config, "hma_index_stale_after", 0.0)

    response = client.get("/status")
    assert response.status_code == 503
    assert response.data == b"INDEX-NOT-LOADED"

    # We also are okay if the cache is old but we configured to not care
    index.ready = True  # Vigil: HMA's cache becomes ready when last_check_ts is set
    index.checked_at = 1

    response = client.get("/status")
    assert response.status_code == 200
    assert response.data == b"I-AM-ALIVE"

    # But if we do care, status should be no good
    app.service.config.hma_index_stale_after = 65  # Vigil: HMA's sec_old_before_stale

    response = client.get("/status")
    assert response.status_code == 503
    assert response.data == b"INDEX-STALE"

    index.checked_at = time.time()
    response = client.get("/status")
    assert response.status_code == 200
    assert response.data == b"I-AM-ALIVE"


def test_status_live_always_alive(app: App, client: HmaClient, monkeypatch: MonkeyPatch) -> None:
    """/status/live must never fail because of index state - that would cause a restart loop during
    cold start under any health-check client that triggers restarts on non-2xx."""
    response = client.get("/status/live")
    assert response.status_code == 200
    assert response.data == b"I-AM-ALIVE"

    index = app.service.matchers  # Vigil: as in test_status_response
    monkeypatch.setattr(index, "ready", False)
    monkeypatch.setattr(index, "checked_at", 0.0)
    monkeypatch.setattr(app.service.config, "hma_index_stale_after", 65.0)

    # Index not loaded - /status/live still alive
    assert client.get("/status").data == b"INDEX-NOT-LOADED"  # Vigil: HMA asserts not cache_val.is_ready
    response = client.get("/status/live")
    assert response.status_code == 200
    assert response.data == b"I-AM-ALIVE"

    # Index stale - /status/live still alive
    index.ready = True
    index.checked_at = 1
    assert client.get("/status").data == b"INDEX-STALE"  # Vigil: HMA asserts cache_val.is_stale
    response = client.get("/status/live")
    assert response.status_code == 200
    assert response.data == b"I-AM-ALIVE"


def test_openapi_documentation_available(client: HmaClient) -> None:
    response = client.get("/openapi/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    payload = response.get_json()
    assert payload is not None
    assert payload.get("info", {}).get("title") == "Open Media Match API"


def test_lookup_success(app: App, client: HmaClient, image_server: str) -> None:
    # Build index
    build_all_indices(client)  # Vigil: see the module docstring

    # test GET
    image_url = f"{image_server}/image1.jpg"
    get_resp = client.get(f"/m/lookup?url={image_url}")
    assert get_resp.status_code == 200

    # test POST with temp file
    response = requests.get(image_url, timeout=10)
    image = Image.open(BytesIO(response.content))
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        image.save(f, format="JPEG")
        f.flush()
        file_tuple = (f.name, f.name, "image/jpeg")
        resp = client.post("/m/lookup", data={"photo": file_tuple})
        assert resp.status_code == 200

        # It's not really a video, but MD5 is simple that we can fake it
        resp = client.post("/m/lookup", data={"video": file_tuple})
        assert resp.status_code == 200


def test_lookup_without_role(app: App, client: HmaClient, image_server: str) -> None:
    # role resets to True in the next test
    client.application.config["ROLE_HASHER"] = False

    # test GET
    image_url = f"{image_server}/image1.jpg"
    get_resp = client.get(f"/m/lookup?url={image_url}")
    assert get_resp.status_code == 403

    # test POST with temp file
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        # Write a minimal valid JPEG file header
        f.write(b"\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9")
        f.flush()
        files = {"file": (f.name, f.name, "image/jpeg")}
        resp = client.post("/m/lookup", data=files)
        assert resp.status_code == 403


def test_exchange_api_set_auth(app: App, client: HmaClient) -> None:
    sample_name = StaticSampleSignalExchangeAPI.get_name()
    tx_name = FBThreatExchangeSignalExchangeAPI.get_name()
    resp = client.get("/c/exchanges/apis")
    assert resp.status_code == 200
    assert set(t.cast(list, resp.json)) >= {sample_name, tx_name}  # Vigil: >=, see the docstring

    resp = client.get(f"/c/exchanges/api/{sample_name}")
    assert resp.status_code == 200
    assert resp.json == {
        "supports_authentification": False,
        "has_set_authentification": False,
    }

    resp = client.get(f"/c/exchanges/api/{tx_name}")
    assert resp.status_code == 200
    assert resp.json == {
        "supports_authentification": True,
        "has_set_authentification": False,
    }

    creds = FBThreatExchangeCredentials("12345789|000000000000")

    resp = client.post(
        f"/c/exchanges/api/{tx_name}",
        json={"credential_json": dataclass_json.dataclass_dump_dict(creds)},
    )

    assert resp.status_code == 200
    assert resp.json == {
        "supports_authentification": True,
        "has_set_authentification": True,
    }

    resp = client.get(f"/c/exchanges/api/{tx_name}")
    assert resp.status_code == 200
    assert resp.json == {
        "supports_authentification": True,
        "has_set_authentification": True,
    }

    # Unset
    resp = client.post(
        f"/c/exchanges/api/{tx_name}",
        json={"credential_json": {}},
    )
    assert resp.status_code == 200
    assert resp.json == {
        "supports_authentification": True,
        "has_set_authentification": False,
    }


def test_exchange_api_schema(app: App, client: HmaClient) -> None:
    """Schema endpoint returns config and optional credential field descriptors."""
    sample_name = StaticSampleSignalExchangeAPI.get_name()
    tx_name = FBThreatExchangeSignalExchangeAPI.get_name()

    # Sample API has no type-specific config fields and no credentials
    resp = client.get(f"/c/exchanges/api/{sample_name}/schema")
    assert resp.status_code == 200
    data = resp.get_json()
    assert data is not None and isinstance(data, dict)
    assert "config_schema" in data
    assert "fields" in data["config_schema"]
    assert data["credentials_schema"] is None

    # FB ThreatExchange has config (e.g. privacy_group) and credentials (api_token)
    resp = client.get(f"/c/exchanges/api/{tx_name}/schema")
    assert resp.status_code == 200
    data = resp.get_json()
    assert data is not None and isinstance(data, dict)
    assert "config_schema" in data
    config_fields = {f["name"]: f for f in data["config_schema"]["fields"]}
    assert "privacy_group" in config_fields
    assert config_fields["privacy_group"]["type"] == "number"
    assert config_fields["privacy_group"]["required"] is True
    cred_schema = data["credentials_schema"]
    assert cred_schema is not None
    cred_fields = {f["name"]: f for f in cred_schema["fields"]}
    assert "api_token" in cred_fields
    assert cred_fields["api_token"]["type"] == "string"


def test_compare_hashes(app: App, client: HmaClient) -> None:
    specimen1 = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318"
    specimen2 = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318"
    # Happy path
    resp = client.post("/m/compare", json={"pdq": [specimen1, specimen2]})
    assert resp.json == {"pdq": [True, {"distance": 9}]}

    # Malformed input
    bad_inputs: list[t.Any] = [
        # Not a dict
        ["banana"],
        # Dict, but values are not lists
        {"pdq": "banana"},
        # List of comparison hashes is empty
        {"pdq": []},
        # Hashes are invalid
        {"pdq": ["banana", "banana"]},
        # Too many hashes (must be exactly 2)
        {"pdq": [specimen1, specimen2, specimen1]},
    ]
    for bad_input in bad_inputs:
        resp = client.post(
            "/m/compare",
            json=bad_input,
        )
        assert resp.status_code == 400


def test_exchange_delete(app: App, client: HmaClient) -> None:
    delete_response = client.delete(
        "/c/exchange/TEST_EXCHANGE",
    )
    # deleting an exchange that doesn't exist returns 200
    assert delete_response.status_code == 200

    # create an exchange
    post_response = client.post(
        "/c/exchanges",
        json={"api": "sample", "bank": "FOO_EXCHANGE", "api_json": {}},
    )
    assert post_response.status_code == 201

    # test a real delete
    delete_response = client.delete(
        "/c/exchange/FOO_EXCHANGE",
    )
    assert delete_response.status_code == 200
    assert delete_response.get_json()["message"] == "Exchange deleted"


def test_exchange_get_fetch_status(app: App, client: HmaClient) -> None:
    # Unknown exchange returns 404
    resp = client.get("/c/exchange/NONEXISTENT_EXCHANGE/status")
    assert resp.status_code == 404

    # Create an exchange and get fetch status
    post_resp = client.post(
        "/c/exchanges",
        json={"api": "sample", "bank": "BAR_EXCHANGE", "api_json": {}},
    )
    assert post_resp.status_code == 201

    resp = client.get("/c/exchange/BAR_EXCHANGE/status")
    assert resp.status_code == 200
    assert resp.is_json
    data = resp.get_json()
    assert data is not None
    # FetchStatus fields (from storage.interface.FetchStatus)
    assert "checkpoint_ts" in data
    assert "running_fetch_start_ts" in data
    assert "last_fetch_complete_ts" in data
    assert "last_fetch_succeeded" in data
    assert "up_to_date" in data
    assert "fetched_items" in data
