"""Hash types known to Vigil. Each registers how to normalise a value and how it is matched."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.core.errors import InvalidInput
from vigil.core.registry import Registry


@dataclass(frozen=True)
class HashType:
    """A hash kind: `exact` types match by equality, `hamming` types by bit distance."""

    name: str
    hex_len: int
    match: str  # "exact" | "hamming" | "video"
    aliases: tuple[str, ...] = ()

    def normalize(self, value: str) -> str:
        """Lowercase hex of the right length, or ValueError saying what is wrong."""
        text = value.strip().lower()
        if text.startswith("0x"):
            text = text[2:]
        if len(text) != self.hex_len or not _HEX.fullmatch(text):
            raise InvalidInput(
                f"not a {self.name} value ({self.hex_len} hex characters): {value.strip()[:80]!r}"
            )
        return text


_HEX = re.compile(r"[0-9a-f]+")

HASH_TYPES: Registry[HashType] = Registry("hash type")
for _t in (
    HashType("md5", 32, "exact"),
    HashType("sha1", 40, "exact", ("sha-1",)),
    HashType("sha256", 64, "exact", ("sha-256",)),
    HashType("pdq", 64, "hamming"),
    # A known video: the value is the SHA-256 of its vPDQ text; the frames live in video_frames.
    HashType("vpdq", 64, "video"),
    # BitTorrent v1 info-hash (SHA-1 of the info dictionary): what P2P monitoring observes.
    HashType("btih", 40, "exact", ("infohash",)),
    # BitTorrent v2 info-hash (SHA-256 of the v2 info dictionary).
    HashType("btmh", 64, "exact", ("infohash-v2",)),
    # eDonkey/eMule file hash (MD4-based): what eD2k monitoring observes.
    HashType("ed2k", 32, "exact"),
):
    HASH_TYPES.add(_t.name, _t)
    for _alias in _t.aliases:
        HASH_TYPES.add(_alias, _t)

EXACT_TYPES = ("md5", "sha1", "sha256")


def hash_type(name: str) -> HashType:
    return HASH_TYPES.get(name.strip())
