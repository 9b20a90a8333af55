"""HMA 2.0's tests/test_hashing.py, ported (github:facebook/ThreatExchange, hasher-matcher-actioner/src/
OpenMediaMatch/tests/test_hashing.py). Same inputs, same assertions, against Vigil.

Adapted lines (each marked `# Vigil:` below):
- The URL tests call `is_valid_url`, here Vigil's own check (`vigil.interfaces.hma.common.url_problem`)
  under the app's settings; HMA's empty ALLOWED_HOSTNAMES ("any host") is Vigil's `*`.
- test_content_length_validation(_default): HMA mocks `requests.get` to announce a large body; here a
  loopback server announces it (limit + 1 bytes, then limit - 1) and the request goes over HTTP.
- test_content_length_validation_misconfiguration: HMA answers 500 per request; Vigil refuses to start.
"""

from __future__ import annotations

import pytest
from pytest import MonkeyPatch
from tests.hma_compat.harness import App, HmaClient, is_valid_url

from vigil.core.errors import InvalidInput
from vigil.interfaces.api.app import from_env


def test_valid_urls(app: App) -> None:
    """Test various valid URLs that should pass validation."""
    valid_urls = [
        "https://example.com",
        "https://example.com/path",
        "https://example.com:8080/path",
        "http://example.com",
        "https://sub.example.com",
        "https://example.com/path?query=value",
        "https://example.com/path#fragment",
    ]

    with app.app_context():
        for url in valid_urls:
            assert is_valid_url(url), f"URL should be valid: {url}"


def test_invalid_schemes(app: App) -> None:
    """Test URLs with invalid schemes."""
    invalid_urls = [
        "ftp://example.com",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ws://example.com",
        "wss://example.com",
    ]

    with app.app_context():
        for url in invalid_urls:
            assert not is_valid_url(url), f"URL should be invalid: {url}"


def test_missing_scheme_or_netloc(app: App) -> None:
    """Test URLs missing scheme or netloc."""
    invalid_urls = [
        "example.com",
        "//example.com",
        "http://",
        "https://",
        "",
        None,
    ]

    with app.app_context():
        for url in invalid_urls:
            assert not is_valid_url(url), f"URL should be invalid: {url}"


def test_malformed_urls(app: App) -> None:
    """Test malformed URLs."""
    invalid_urls = [
        "not a url",
        "http://",
        "https://",
        "http:///example.com",
        "http://example.com:",
        "http://example.com:abc",
    ]

    with app.app_context():
        for url in invalid_urls:
            assert not is_valid_url(url), f"URL should be invalid: {url}"


def test_allowed_hostnames(app: App) -> None:
    """Test hostname validation against allowed list."""
    with app.app_context():
        # Set test allowed hostnames
        app.config["ALLOWED_HOSTNAMES"] = {
            "example.com",
            "cdn.example.com",
            "media.example.com",
        }

        # Test allowed hostnames
        for hostname in app.config["ALLOWED_HOSTNAMES"]:
            url = f"https://{hostname}/path"
            assert is_valid_url(url), f"URL should be valid: {url}"

        # Test disallowed hostnames
        invalid_hostnames = [
            "https://evil.com",
            "https://malicious-site.com",
            "https://example.com.evil.com",  # Subdomain attack
            "https://evil.com/example.com",  # Path attack
        ]

        for url in invalid_hostnames:
            assert not is_valid_url(url), f"URL should be invalid: {url}"


def test_empty_allowed_hostnames(app: App) -> None:
    """Test behavior when ALLOWED_HOSTNAMES is empty."""
    with app.app_context():
        # Temporarily set empty allowed hostnames
        app.config["ALLOWED_HOSTNAMES"] = set()

        # All URLs should be allowed when ALLOWED_HOSTNAMES is empty
        test_urls = [
            "https://example.com",
            "https://evil.com",
            "https://any-domain.com",
        ]

        for url in test_urls:
            assert is_valid_url(url), f"URL should be valid when ALLOWED_HOSTNAMES is empty: {url}"


def test_content_length_validation(client: HmaClient, image_server: str) -> None:
    """Test content length validation."""
    # Vigil: a server answering with a large content length stands in for the mocked requests.get
    # Test with large content length
    response = client.get(f"/h/hash?url={image_server}/declared-huge.jpg")
    assert response.status_code == 413
    assert "Content too large" in response.get_data(as_text=True)

    # Test with acceptable content length
    response = client.get(f"/h/hash?url={image_server}/declared-almost.jpg")
    assert response.status_code != 413


def test_content_length_validation_default(client: HmaClient, app: App, image_server: str) -> None:
    with app.app_context():
        # Override MAX_REMOTE_FILE_SIZE to None, simulating it not
        # being present in an OMM_CONFIG file:
        app.config["MAX_REMOTE_FILE_SIZE"] = None

        # Test with large content length
        response = client.get(f"/h/hash?url={image_server}/declared-huge.jpg")  # Vigil: as above
        assert response.status_code == 413
        assert "Content too large" in response.get_data(as_text=True)


def test_content_length_validation_misconfiguration(monkeypatch: MonkeyPatch) -> None:
    # Vigil: a limit that is no integer stops the service at start, naming the setting, where HMA
    # answers each request 500 "Service misconfigured, see logs for details".
    monkeypatch.setenv("VIGIL_HMA_MAX_REMOTE_FILE_SIZE", "not-an-integer")
    with pytest.raises(InvalidInput, match="VIGIL_HMA_MAX_REMOTE_FILE_SIZE"):
        from_env()
