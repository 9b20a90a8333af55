"""What a P2P log's hash column can hold, validated and reduced to one typed, lowercase hex value.

Monitoring tools write content identifiers in many spellings: BitTorrent v1 info-hashes as 40 hex or
32 base32 characters, v2 info-hashes (SHA-256) as 64 hex or as a multihash (`1220...`), magnet URIs,
Gnutella and Gnutella2 SHA-1 as `urn:sha1:` base32, eD2k hashes (MD4-based, 32 hex) in `ed2k://`
links. Guessing a type from the length alone types a base32 SHA-1 as MD5 and accepts any 32
characters; here every value is parsed by its form and refused with a reason when it fits none.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qs, urlsplit

from vigil.core.errors import InvalidInput

_BASE32 = re.compile(r"[A-Z2-7]{32}")
MULTIHASH_SHA256 = "1220"


class HashFormError(InvalidInput):
    """A value that is no content identifier this module knows (the message says what it is not)."""


HEX_DIGITS = "0123456789abcdef"


def _hex(text: str, length: int) -> str | None:
    if len(text) != length:
        return None
    low = text.lower()
    return None if low.strip(HEX_DIGITS) else low  # all hex digits: nothing is left once stripped


def _base32_hex(text: str) -> str | None:
    upper = text.upper()
    if not _BASE32.fullmatch(upper):
        return None
    try:
        return base64.b32decode(upper).hex()
    except binascii.Error:
        return None


def _from_urn(urn: str) -> tuple[str, str] | None:
    """urn:btih:, urn:btmh:, urn:sha1:, urn:ed2k:, urn:md5: (as in magnet `xt` parameters)."""
    kind, _, value = urn.partition(":")
    kind = kind.lower()
    if kind == "btih":
        found = _hex(value, 40) or _base32_hex(value)
        return ("btih", found) if found else None
    if kind == "btmh":
        low = value.lower()
        if low.startswith(MULTIHASH_SHA256) and (found := _hex(low[4:], 64)):
            return "btmh", found
        return None
    if kind == "sha1":
        found = _base32_hex(value) or _hex(value, 40)
        return ("sha1", found) if found else None
    if kind in ("ed2k", "ed2khash"):
        found = _hex(value, 32)
        return ("ed2k", found) if found else None
    if kind == "md5":
        found = _hex(value, 32)
        return ("md5", found) if found else None
    return None


def parse_magnet(text: str) -> list[tuple[str, str]]:
    """Every content identifier in a magnet URI's `xt` parameters (a magnet may carry v1 and v2)."""
    query = parse_qs(urlsplit(text).query)
    found = []
    for xt in query.get("xt", []):
        if xt.lower().startswith("urn:") and (parsed := _from_urn(xt[4:])):
            found.append(parsed)
    if not found:
        raise HashFormError(f"magnet URI without a usable xt=urn:...: {text[:80]!r}")
    return found


def parse_infohash(text: str) -> tuple[str, str]:
    """A BitTorrent info-hash: ("btih", 40 hex) for v1, ("btmh", 64 hex) for v2."""
    value = text.strip()
    if value.lower().startswith("magnet:"):
        kinds = parse_magnet(value)
        return next((k for k in kinds if k[0] in ("btih", "btmh")), kinds[0])
    if value.lower().startswith("urn:") and (parsed := _from_urn(value[4:])):
        return parsed
    if found := _hex(value, 40) or _base32_hex(value):
        return "btih", found
    if found := _hex(value, 64):
        return "btmh", found
    if value.lower().startswith(MULTIHASH_SHA256) and (found := _hex(value[4:], 64)):
        return "btmh", found
    raise HashFormError(f"not a BitTorrent info-hash (40 hex, 32 base32, 64 hex or magnet): {value[:80]!r}")


def parse_file_hash(text: str, declared: str | None = None) -> tuple[str, str]:
    """A file's content hash. 32 hex characters are MD5 unless the log's profile declares eD2k;
    32 base32 characters are a Gnutella SHA-1, never an MD5."""
    value = text.strip()
    low = value.lower()
    if low.startswith("magnet:"):
        return parse_magnet(value)[0]
    if low.startswith("urn:") and (parsed := _from_urn(value[4:])):
        return parsed
    if low.startswith("ed2k://"):
        parts = value.split("|")  # ed2k://|file|name|size|hash|/
        if len(parts) > 4 and (found := _hex(parts[4], 32)):
            return "ed2k", found
        raise HashFormError(f"ed2k link without a hash: {value[:80]!r}")
    if found := _hex(value, 40):
        return "sha1", found
    if found := _hex(value, 64):
        return "sha256", found
    if found := _hex(value, 32):
        return (declared or "md5"), found
    if found := _base32_hex(value):
        return "sha1", found
    raise HashFormError(
        f"not a file hash (MD5/eD2k 32 hex, SHA-1 40 hex or 32 base32, SHA-256 64 hex, urn or link): "
        f"{value[:80]!r}"
    )
