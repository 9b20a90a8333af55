"""Personal data sealed at rest: IPs, e-mails, account names and report bodies are never plaintext
in the database.

A review item's context (who uploaded it, from which IPs, with which account), the context frozen
with evidence, and the report XML that repeats them are the data a database dump must not give
away. Columns of type `SealedJSON` / `SealedText` encrypt their value with AES-256-GCM under a data
key kept outside the database, and bind each value to its column (the associated data), so a
sealed value moved to another column does not open. Reads are transparent to the code above.

The key comes from `$VIGIL_DATA_KEY` (urlsafe base64 of 32 bytes, for a secret manager, KMS or
HSM to set) or from the file `$VIGIL_DATA_KEY_FILE` (default `~/.config/vigil/data.key`), created
0600 on first use. Every process that reads the database (service, worker, CLI) needs the same key.
Rows written before sealing existed are read as they are and sealed when next written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from vigil.core.errors import VigilError

KEY_ENV = "VIGIL_DATA_KEY"
KEY_FILE_ENV = "VIGIL_DATA_KEY_FILE"
PREFIX = "sealed1:"
NONCE = 12


class SealedDataError(VigilError):
    """A sealed column could not be opened: the data key is not the one it was written with."""

    status = 503  # the service is misconfigured, not the request wrong


def key_file() -> Path:
    configured = os.environ.get(KEY_FILE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vigil" / "data.key"


@lru_cache(maxsize=8)
def _key_from(env_value: str | None, path: str) -> bytes:
    if env_value:
        key = base64.urlsafe_b64decode(env_value)
    else:
        file = Path(path)
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first: read theirs
                pass
            else:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)))
        key = base64.urlsafe_b64decode(file.read_bytes().strip())
    if len(key) != 32:
        raise SealedDataError(f"the data key must be 32 bytes of urlsafe base64 ({KEY_ENV} or {path})")
    return key


def data_key() -> bytes:
    return _key_from(os.environ.get(KEY_ENV), str(key_file()))


def seal(plain: str, label: str) -> str:
    # cryptography (6 MiB) loads where a value is sealed or opened: every process imports the
    # models, and most (a crawl, a scan) never touch a sealed column
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(NONCE)
    sealed = AESGCM(data_key()).encrypt(nonce, plain.encode(), label.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(token: str, label: str) -> str:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
    try:
        return AESGCM(data_key()).decrypt(raw[:NONCE], raw[NONCE:], label.encode()).decode()
    except InvalidTag:
        raise SealedDataError(
            f"{label} was sealed with another data key: give this process the key the service uses "
            f"({KEY_ENV} or {KEY_FILE_ENV})"
        ) from None


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class SealedJSON(TypeDecorator[Any]):
    """A JSON value stored as one sealed JSON string (the column stays JSON: no schema change)."""

    impl = JSON
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return seal(json.dumps(value, sort_keys=True, default=str), self.label)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if is_sealed(value):
            return json.loads(unseal(value, self.label))
        return value  # written before sealing: read as it is


class SealedText(TypeDecorator[str]):
    """Text stored sealed."""

    impl = Text
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value, self.label)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return unseal(value, self.label) if value is not None and is_sealed(value) else value


def blind_index(text: str) -> str:
    """A keyed digest of an identifier: equal identifiers stay findable by equality, but a database
    dump names nobody (used for the reported account a report is filed under)."""
    digest = hmac.new(data_key(), f"blind:{text}".encode(), hashlib.sha256).hexdigest()
    return "k1:" + digest
