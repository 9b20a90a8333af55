"""HMA 2.0's tests/test_match_api.py, ported (github:facebook/ThreatExchange, hasher-matcher-actioner/
src/OpenMediaMatch/tests/test_match_api.py). Same requests, same assertions, over HTTP against Vigil.

Adapted lines (each marked `# Vigil:` below):
- The fixtures configure the sample exchange and banks through HMA's storage object; here through
  HMA's API (`POST /c/exchanges`, `POST /c/banks`, `POST /c/bank/NAME/signal`), and the fetch HMA's
  background task does is Vigil's `fetch` for the exchange, called by hand as HMA's test calls
  `fetcher.fetch_all`. Index builds: `build_all_indices(client)` waits until Vigil's own rebuild.
- `storage.get_signal_type_configs()` is read over HTTP from `GET /c/signal_type`; HMA's test
  configuration installs exactly pdq and video_md5, Vigil also serves video_sha256, so the set of
  signal types is checked to contain HMA's two (and every served type is looked up as HMA does).
"""

from __future__ import annotations

import typing as t

import pytest
from tests.conftest import OPERATOR
from tests.hma_compat.harness import App, HmaClient, build_all_indices, signal_type_configs
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from vigil.actions.exchanges import sync

TMatchByBank = dict[str, list[dict[str, t.Any]]]


@pytest.fixture()
def client_with_sample_data(app: App, client: HmaClient) -> HmaClient:
    # Vigil: HMA writes the exchange API config and the exchange through its storage object
    resp = client.post("/c/exchanges", json={"api": "sample", "bank": "SAMPLE", "api_json": {}})
    assert resp.status_code == 201
    sync.fetch(app.store, OPERATOR, "SAMPLE")  # Vigil: HMA calls fetcher.fetch_all(...)
    build_all_indices(client)  # Vigil: HMA calls build_index.build_all_indices(...)

    assert client.get("/status").status_code == 200
    return client


def test_raw_lookups(client_with_sample_data: HmaClient) -> None:
    client = client_with_sample_data

    configs = signal_type_configs(client)  # Vigil: GET /c/signal_type, not HMA's storage object
    assert set(configs) >= {  # Vigil: >=, Vigil also serves video_sha256 (see the docstring)
        PdqSignal.get_name(),
        VideoMD5Signal.get_name(),
    }
    for sig_name, signal_cfg in configs.items():
        assert signal_cfg.enabled

        # For each type, just lookup one signal
        sig_str = signal_cfg.signal_type.get_examples()[0]

        query_str = {"signal": sig_str, "signal_type": sig_name}

        resp = client.get("/m/raw_lookup", query_string=query_str)
        assert resp.status_code == 200
        match_count = len(resp.json["matches"])  # type: ignore
        assert match_count >= 1

        # With distance
        query_str["include_distance"] = True  # type: ignore
        resp = client.get("/m/raw_lookup", query_string=query_str)
        assert resp.status_code == 200
        with_dist_matches = resp.json["matches"]  # type: ignore
        assert len(with_dist_matches) == match_count

        for match in with_dist_matches:
            assert "bank_content_id" in match
            assert "distance" in match


def test_lookups(client_with_sample_data: HmaClient) -> None:
    client = client_with_sample_data

    configs = signal_type_configs(client)  # Vigil: GET /c/signal_type, not HMA's storage object
    # sanity check
    assert set(configs) >= {  # Vigil: >=, Vigil also serves video_sha256 (see the docstring)
        PdqSignal.get_name(),
        VideoMD5Signal.get_name(),
    }
    for sig_name, signal_cfg in configs.items():
        assert signal_cfg.enabled

        # For each type, just lookup one signal
        sig_str = signal_cfg.signal_type.get_examples()[0]

        query_str = {"signal": sig_str, "signal_type": sig_name}

        resp = client.get("/m/lookup", query_string=query_str)
        assert resp.status_code == 200
        resp_json = t.cast(TMatchByBank, resp.json)
        assert len(resp_json) == 1
        assert "SAMPLE" in resp_json
        with_dist_matches = resp_json["SAMPLE"]
        assert len(with_dist_matches) > 0

        for match in with_dist_matches:
            assert "bank_content_id" in match
            assert "distance" in match


@pytest.fixture()
def client_with_multi_bank_data(client: HmaClient) -> HmaClient:
    """Fixture that sets up multiple banks with sample data for testing bank filtering."""
    # Create multiple banks
    # Vigil: HMA calls storage.bank_update(BankConfig(name, 1.0), create=True); here the API does
    for name in ("BANK_A", "BANK_B", "BANK_C"):
        assert client.post("/c/banks", json={"name": name}).status_code == 201

    # Add content to each bank using PDQ signals
    # Vigil: HMA calls storage.bank_add_content(bank, {PdqSignal: pdq_signal}); here the API does
    pdq_signal = PdqSignal.get_examples()[0]
    for name in ("BANK_A", "BANK_B", "BANK_C"):
        assert client.post(f"/c/bank/{name}/signal", json={"pdq": pdq_signal}).status_code == 200

    # Build indices
    build_all_indices(client)  # Vigil: see the module docstring

    assert client.get("/status").status_code == 200
    return client


def test_raw_lookup_with_bank_filter(client_with_multi_bank_data: HmaClient) -> None:
    """Test /m/raw_lookup endpoint with bank filtering."""
    client = client_with_multi_bank_data

    sig_str = PdqSignal.get_examples()[0]
    query_str = {"signal": sig_str, "signal_type": PdqSignal.get_name()}

    # Test without bank filter - should return all banks
    resp = client.get("/m/raw_lookup", query_string=query_str)
    assert resp.status_code == 200
    all_matches = resp.json["matches"]  # type: ignore
    assert len(all_matches) == 3  # One from each bank

    # Test filtering by single bank
    query_str["banks"] = "BANK_A"
    resp = client.get("/m/raw_lookup", query_string=query_str)
    assert resp.status_code == 200
    bank_a_matches = resp.json["matches"]  # type: ignore
    assert len(bank_a_matches) == 1

    # Test filtering by multiple banks
    query_str["banks"] = "BANK_A,BANK_B"
    resp = client.get("/m/raw_lookup", query_string=query_str)
    assert resp.status_code == 200
    multi_bank_matches = resp.json["matches"]  # type: ignore
    assert len(multi_bank_matches) == 2

    # Test filtering by non-existent bank
    query_str["banks"] = "NON_EXISTENT_BANK"
    resp = client.get("/m/raw_lookup", query_string=query_str)
    assert resp.status_code == 200
    no_matches = resp.json["matches"]  # type: ignore
    assert len(no_matches) == 0


def test_raw_lookup_with_distance_and_bank_filter(
    client_with_multi_bank_data: HmaClient,
) -> None:
    """Test /m/raw_lookup with both distance and bank filtering."""
    client = client_with_multi_bank_data

    sig_str = PdqSignal.get_examples()[0]
    query_str = {
        "signal": sig_str,
        "signal_type": PdqSignal.get_name(),
        "include_distance": True,
        "banks": "BANK_A,BANK_B",
    }

    resp = client.get("/m/raw_lookup", query_string=query_str)
    assert resp.status_code == 200
    matches = resp.json["matches"]  # type: ignore
    assert len(matches) == 2

    for match in matches:
        assert "bank_content_id" in match
        assert "distance" in match


def test_lookup_with_bank_filter(client_with_multi_bank_data: HmaClient) -> None:
    """Test /m/lookup endpoint with bank filtering."""
    client = client_with_multi_bank_data

    sig_str = PdqSignal.get_examples()[0]
    query_str = {"signal": sig_str, "signal_type": PdqSignal.get_name()}

    # Test without bank filter - should return all banks
    resp = client.get("/m/lookup", query_string=query_str)
    assert resp.status_code == 200
    resp_json = t.cast(TMatchByBank, resp.json)
    assert len(resp_json) == 3
    assert "BANK_A" in resp_json
    assert "BANK_B" in resp_json
    assert "BANK_C" in resp_json

    # Test filtering by single bank
    query_str["banks"] = "BANK_A"
    resp = client.get("/m/lookup", query_string=query_str)
    assert resp.status_code == 200
    resp_json = t.cast(TMatchByBank, resp.json)
    assert len(resp_json) == 1
    assert "BANK_A" in resp_json
    assert len(resp_json["BANK_A"]) > 0

    # Test filtering by multiple banks
    query_str["banks"] = "BANK_A,BANK_C"
    resp = client.get("/m/lookup", query_string=query_str)
    assert resp.status_code == 200
    resp_json = t.cast(TMatchByBank, resp.json)
    assert len(resp_json) == 2
    assert "BANK_A" in resp_json
    assert "BANK_C" in resp_json
    assert "BANK_B" not in resp_json

    # Test filtering by non-existent bank
    query_str["banks"] = "NON_EXISTENT_BANK"
    resp = client.get("/m/lookup", query_string=query_str)
    assert resp.status_code == 200
    resp_json = t.cast(TMatchByBank, resp.json)
    assert len(resp_json) == 0
