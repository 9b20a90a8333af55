"""The HMA-compatible API, driven the way HMA's own tests and docs drive it, against a real server.

Every request below is one an HMA client sends (paths, query parameters, multipart field names, JSON
bodies from open-media-match's blueprints and tests); the assertions check HMA's response shapes.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pdqhash
import pytest
import requests
from PIL import Image
from tests.conftest import OPERATOR, ServerThread, bsds_images

from vigil.interfaces.api.app import ServiceConfig, create_app
from vigil.review.evidence import Vault
from vigil.review.keys import create_key
from vigil.store.db import Store

PHOTO = bsds_images()[42]
OTHER = bsds_images()[43]


def _reference_pdq(data: bytes) -> str:
    import numpy as np

    vector, _ = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    return "".join(f"{int(''.join(str(b) for b in vector[i : i + 4]), 2):x}" for i in range(0, 256, 4))


def _resized(path: Path) -> bytes:
    image = Image.open(path).convert("RGB")
    out = io.BytesIO()
    image.resize((image.width // 2, image.height // 2)).save(out, "JPEG", quality=70)
    return out.getvalue()


@pytest.fixture
def hma(store: Store, tmp_path: Path):  # type: ignore[no-untyped-def]
    app = create_app(
        store,
        Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key"),
        ServiceConfig(hma_anonymous_role="submitter"),
    )
    admin = {"X-API-Key": create_key(store, OPERATOR, "curator", "admin")}
    with ServerThread(app) as server:
        yield server.url, admin


def test_recorded_hma_client_flow(hma) -> None:  # type: ignore[no-untyped-def]
    base, admin = hma
    photo = PHOTO.read_bytes()
    assert requests.get(f"{base}/status").text == "I-AM-ALIVE"

    # Curation: create a bank, add a photo by upload (field name = content type), add a video MD5 signal.
    r = requests.post(f"{base}/c/banks", json={"name": "TEST_BANK"}, headers=admin)
    assert r.status_code == 201 and r.json() == {"name": "TEST_BANK", "matching_enabled_ratio": 1.0}
    assert {"name": "TEST_BANK", "matching_enabled_ratio": 1.0} in requests.get(f"{base}/c/banks").json()
    r = requests.post(
        f"{base}/c/bank/TEST_BANK/content",
        files={"photo": ("a.jpg", photo)},
        data={"note": "from the flow"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    content_id, signals = r.json()["id"], r.json()["signals"]
    assert signals == {"pdq": _reference_pdq(photo)}  # hashing is the reference PDQ
    md5 = hashlib.md5(b"benign video bytes").hexdigest()
    r = requests.post(f"{base}/c/bank/TEST_BANK/signal", json={"video_md5": md5}, headers=admin)
    video_id = r.json()["id"]
    assert r.json()["signals"] == {"video_md5": md5} and video_id != content_id

    # Hashing endpoint.
    assert requests.post(f"{base}/h/hash", files={"photo": ("a.jpg", photo)}).json() == signals

    # Matching: a resized re-encode still matches, with its distance as a string.
    query = requests.post(f"{base}/h/hash", files={"photo": ("b.jpg", _resized(PHOTO))}).json()["pdq"]
    r = requests.get(f"{base}/m/lookup", params={"signal_type": "pdq", "signal": query})
    [match] = r.json()["TEST_BANK"]
    assert match["bank_content_id"] == content_id and 0 < int(match["distance"]) <= 31
    assert requests.get(f"{base}/m/raw_lookup", params={"signal_type": "pdq", "signal": query}).json() == {
        "matches": [content_id]
    }
    with_distance = requests.get(
        f"{base}/m/raw_lookup", params={"signal_type": "pdq", "signal": query, "include_distance": "true"}
    ).json()
    assert with_distance == {"matches": [match]}
    by_upload = requests.post(f"{base}/m/lookup", files={"photo": ("b.jpg", _resized(PHOTO))}).json()
    assert by_upload == {"pdq": {"TEST_BANK": [match]}}
    other = requests.post(f"{base}/h/hash", files={"photo": ("c.jpg", OTHER.read_bytes())}).json()["pdq"]
    assert requests.get(f"{base}/m/lookup", params={"signal_type": "pdq", "signal": other}).json() == {}
    r = requests.get(f"{base}/m/lookup", params={"signal_type": "video_md5", "signal": md5})
    assert r.json() == {"TEST_BANK": [{"bank_content_id": video_id, "distance": "0"}]}
    r = requests.post(f"{base}/m/compare", json={"pdq": [signals["pdq"], query]})
    assert r.json() == {"pdq": [True, {"distance": int(match["distance"])}]}
    status = requests.get(f"{base}/m/index/status").json()
    assert status["pdq"]["present"] and status["pdq"]["size"] == 1 and status["video_md5"]["size"] == 1

    # Content: read with signals, disable, re-enable, delete.
    r = requests.get(f"{base}/c/bank/TEST_BANK/content/{content_id}", params={"include_signals": "true"})
    assert r.json()["signals"] == signals and r.json()["note"] == "from the flow"
    assert r.json()["bank"] == {"name": "TEST_BANK", "matching_enabled_ratio": 1.0}
    requests.put(f"{base}/c/bank/TEST_BANK/content/{content_id}", json={"disable_until_ts": 0}, headers=admin)
    assert requests.get(f"{base}/m/lookup", params={"signal_type": "pdq", "signal": query}).json() == {}
    requests.put(f"{base}/c/bank/TEST_BANK/content/{content_id}", json={"disable_until_ts": 1}, headers=admin)
    assert (
        "TEST_BANK" in requests.get(f"{base}/m/lookup", params={"signal_type": "pdq", "signal": query}).json()
    )
    for bad in ({"disable_until_ts": 9999999999}, {"disable_until_ts": -1}, {"disable_until_ts": True},
                {"disable_until_ts": "soon"}, {"note": "x" * 256}, {"note": 7}):  # fmt: skip
        r = requests.put(f"{base}/c/bank/TEST_BANK/content/{content_id}", json=bad, headers=admin)
        assert r.status_code == 400, bad  # HMA's rules: at most 5 years ahead, a string note of <= 255
    assert (
        "TEST_BANK" in requests.get(f"{base}/m/lookup", params={"signal_type": "pdq", "signal": query}).json()
    )  # none of the refused updates disabled it

    # Bank rollout ratio 0: lookups skip it unless the coinflip is bypassed.
    requests.put(f"{base}/c/bank/TEST_BANK", json={"enabled_ratio": 0.0}, headers=admin)
    assert requests.get(f"{base}/m/lookup", params={"signal_type": "pdq", "signal": query}).json() == {}
    assert (
        "TEST_BANK"
        in requests.get(
            f"{base}/m/lookup", params={"signal_type": "pdq", "signal": query, "bypass_coinflip": "true"}
        ).json()
    )

    r = requests.delete(f"{base}/c/bank/TEST_BANK/content/{content_id}", headers=admin)
    assert r.json() == {"deleted": 1}
    assert requests.get(f"{base}/m/raw_lookup", params={"signal_type": "pdq", "signal": query}).json() == {
        "matches": []
    }
    assert requests.delete(f"{base}/c/bank/TEST_BANK", headers=admin).json() == {"message": "Done"}
    assert requests.get(f"{base}/c/bank/TEST_BANK").status_code == 404


def test_hma_errors_are_messages_with_hma_status_codes(hma) -> None:  # type: ignore[no-untyped-def]
    base, admin = hma
    r = requests.get(f"{base}/m/lookup", params={"signal_type": "pdq", "signal": "xyz"})
    assert r.status_code == 400 and r.json()["message"].startswith("invalid signal")
    r = requests.get(f"{base}/m/lookup", params={"signal_type": "tmk", "signal": "00"})
    assert r.status_code == 400 and r.json() == {"message": "No such SignalType 'tmk'"}
    assert requests.get(f"{base}/m/lookup").json() == {
        "message": "Either url or both signal and signal_type are required"
    }
    assert requests.get(f"{base}/c/bank/NOPE").json() == {"message": "bank 'NOPE' not found"}
    assert requests.post(f"{base}/c/banks", json={"name": "lower"}, headers=admin).status_code == 400
    for bad in ("01_TEST_BANK", "TEST_BANK\n", "TEST-BANK"):  # HMA's rule: no leading digit, nothing else
        assert requests.post(f"{base}/c/banks", json={"name": bad}, headers=admin).status_code == 400, bad
    r = requests.post(f"{base}/h/hash", files={"photo": ("a.jpg", b"not an image")})
    assert r.status_code == 400 and "could not hash photo" in r.json()["message"]
    r = requests.get(f"{base}/h/hash", params={"url": "http://127.0.0.1:1/x.jpg"})
    assert r.status_code == 400 and "configured hosts" in r.json()["message"]
    r = requests.post(f"{base}/m/compare", json={"pdq": ["0" * 64]})
    assert r.json() == {"message": "Comparison hash list length must be exactly 2"}


def test_keyless_callers_get_only_the_configured_role(hma) -> None:  # type: ignore[no-untyped-def]
    base, _ = hma
    r = requests.post(f"{base}/c/banks", json={"name": "X"})
    assert r.status_code == 403 and "lacks permission 'lists'" in r.json()["message"]


def test_without_an_anonymous_role_a_key_is_required(store: Store, tmp_path: Path) -> None:
    app = create_app(store, Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key"))
    with ServerThread(app) as server:
        r = requests.get(f"{server.url}/m/raw_lookup", params={"signal_type": "pdq", "signal": "0" * 64})
        assert r.status_code == 401 and r.json() == {"message": "missing or unknown API key"}
        key = {"X-API-Key": create_key(store, OPERATOR, "p", "submitter")}
        r = requests.get(
            f"{server.url}/m/raw_lookup", params={"signal_type": "pdq", "signal": "0" * 64}, headers=key
        )
        assert r.json() == {"matches": []}


def test_lists_from_vigil_and_exchanges_are_banks(store: Store, tmp_path: Path) -> None:
    from tests.test_scan import designate_known

    designate_known(store, [PHOTO])
    app = create_app(
        store,
        Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key"),
        ServiceConfig(hma_anonymous_role="submitter"),
    )
    with ServerThread(app) as server:
        names = [b["name"] for b in requests.get(f"{server.url}/c/banks").json()]
        assert names
        pdq = requests.post(f"{server.url}/h/hash", files={"photo": ("a.jpg", PHOTO.read_bytes())}).json()[
            "pdq"
        ]
        found = requests.get(f"{server.url}/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json()
        [bank] = found
        assert bank in names and found[bank][0]["distance"] == "0"
        content_id = found[bank][0]["bank_content_id"]
        r = requests.get(
            f"{server.url}/c/bank/{bank}/content/{content_id}", params={"include_signals": "true"}
        )
        assert r.json()["signals"]["pdq"] == pdq
        assert requests.get(f"{server.url}/c/exchanges").json() == []


def test_url_hashing_fetches_only_from_allowed_hosts(store: Store, tmp_path: Path) -> None:
    photo = PHOTO.read_bytes()

    async def image_host(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"image/jpeg")]}
        )
        await send({"type": "http.response.body", "body": photo})

    with ServerThread(image_host) as images:
        app = create_app(
            store,
            Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key"),
            ServiceConfig(hma_anonymous_role="submitter", hma_allowed_hosts=("127.0.0.1",)),
        )
        admin = {"X-API-Key": create_key(store, OPERATOR, "curator", "admin")}
        with ServerThread(app) as server:
            url = f"{images.url}/photo.jpg"
            hashed = requests.get(f"{server.url}/h/hash", params={"url": url}).json()
            assert hashed == {"pdq": _reference_pdq(photo)}
            requests.post(f"{server.url}/c/banks", json={"name": "URL_BANK"}, headers=admin)
            added = requests.post(
                f"{server.url}/c/bank/URL_BANK/content", params={"url": url}, headers=admin
            ).json()
            found = requests.get(f"{server.url}/m/lookup", params={"url": url}).json()
            assert found == {"pdq": {"URL_BANK": [{"bank_content_id": added["id"], "distance": "0"}]}}
            assert requests.get(
                f"{server.url}/m/lookup", params={"url": url, "signal_type": "pdq"}
            ).json() == {"URL_BANK": [{"bank_content_id": added["id"], "distance": "0"}]}
            r = requests.get(f"{server.url}/h/hash", params={"url": "http://localhost:9/x.jpg"})
            assert r.status_code == 400 and "configured hosts" in r.json()["message"]
            for bad in (
                "http://127.0.0.1:abc/x.jpg",
                "http://127.0.0.1:99999/x.jpg",
                "ftp://127.0.0.1/x",
                "x",
            ):
                for path in ("/h/hash", "/m/lookup"):  # a bad URL is the caller's error, never a 500
                    r = requests.get(f"{server.url}{path}", params={"url": bad})
                    assert r.status_code == 400 and "Invalid URL" in r.json()["message"], (bad, path)


def test_a_flat_image_has_no_pdq_and_no_bank_takes_it(hma) -> None:  # type: ignore[no-untyped-def]
    """PDQ quality under 50 is too unreliable to match on: HMA hashes it to "" and refuses to bank it."""
    import io

    from PIL import Image

    base, admin = hma
    flat = io.BytesIO()
    Image.new("RGB", (256, 256), (120, 120, 120)).save(flat, "PNG")
    hashed = requests.post(f"{base}/h/hash", files={"photo": ("flat.png", flat.getvalue())}, headers=admin)
    assert hashed.status_code == 200 and hashed.json() == {"pdq": ""}
    requests.post(f"{base}/c/banks", json={"name": "FLAT_BANK"}, headers=admin)
    added = requests.post(
        f"{base}/c/bank/FLAT_BANK/content", files={"photo": ("flat.png", flat.getvalue())}, headers=admin
    )
    assert added.status_code == 400 and "Invalid pdq signal" in added.json()["message"]
    looked = requests.post(f"{base}/m/lookup", files={"photo": ("flat.png", flat.getvalue())}, headers=admin)
    assert looked.status_code == 200 and looked.json() == {"pdq": {}}


def test_hma_core_routes_answer_as_hma_does(hma) -> None:  # type: ignore[no-untyped-def]
    """A liveness probe copied from an HMA deployment, HMA's site map and its OpenAPI path."""
    base, admin = hma
    live = requests.get(f"{base}/status/live")
    assert live.status_code == 200 and live.text == "I-AM-ALIVE"
    routes = requests.get(f"{base}/site-map").json()
    assert routes == sorted(set(routes))
    assert {"/status", "/status/live", "/site-map", "/m/lookup", "/c/banks", "/v1/match/hash"} <= set(routes)
    doc = requests.get(f"{base}/openapi/openapi.json", headers=admin)
    assert doc.status_code == 200
    paths = doc.json()["paths"]
    assert doc.json()["info"]["title"] == "Open Media Match API"
    assert "/m/lookup" in paths and "/c/banks" in paths and "/h/hash" in paths
    assert not any(path.startswith("/v1/") for path in paths)  # HMA's surface only


def test_exchange_status_has_hmas_fetch_status_fields(hma, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """HMA 2.0 answers /c/exchange/NAME/status with python-threatexchange's FetchStatus fields."""
    from vigil.actions.exchanges import sync

    base, admin = hma
    partner = tmp_path / "partner.txt"
    partner.write_text("pdq " + "f" * 64 + "\n")
    sync.add_exchange(store, OPERATOR, "PARTNER", "file", {"filename": str(partner)})
    before = requests.get(f"{base}/c/exchange/PARTNER/status", headers=admin).json()
    assert before["last_fetch_succeeded"] is None and before["up_to_date"] is False
    sync.fetch(store, OPERATOR, "PARTNER")
    status = requests.get(f"{base}/c/exchange/PARTNER/status", headers=admin).json()
    hma_fields = {
        "checkpoint_ts", "running_fetch_start_ts", "last_fetch_complete_ts", "last_fetch_succeeded",
        "up_to_date", "fetched_items",
    }  # fmt: skip
    assert hma_fields <= set(status)
    assert status["last_fetch_succeeded"] is True and status["up_to_date"] is True
    assert status["fetched_items"] == 1 and status["running_fetch_start_ts"] is None
    assert status["last_fetch_complete_ts"] > 0
    assert requests.get(f"{base}/c/exchange/NOPE/status", headers=admin).status_code == 404
