"""Signal types: each class owns one kind of hash (validating and normalising a value, reading it
from a file's signals, the query hashes a file is searched with, comparing two values, and the
threshold), as python-threatexchange's `SignalType` does. The matcher, list import, the JSON and
HMA APIs and review priority look a type up in `HASH_TYPES` and ask it. What only PDQ has still
names it: the Hamming index's codes, region hashes and the EXIF conventions of list building.

Adding a type is one class here (or in a plug-in module) and one `register` call. How it is
indexed follows from `compare`: `exact` types are looked up by value in the store, `hamming` types
go into a Hamming-radius index (`vigil.match.pdq_index`: 256-bit codes), `video` types are matched
frame by frame (`vigil.match.video`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal

from vigil.core import defaults
from vigil.core.errors import InvalidInput
from vigil.core.registry import Registry

if TYPE_CHECKING:
    from vigil.signals.compute import FileSignals

Compare = Literal["exact", "hamming", "video"]
# PDQ's 8 dihedral variants, in the reference's order (a match names the one that hit)
DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)
_HEX = re.compile(r"[0-9a-f]+")


class HashType:
    """A kind of hash with a fixed-length hex value. Subclasses say where a file's value comes from."""

    compare: ClassVar[Compare] = "exact"
    threshold: ClassVar[int] = 0  # the distance that still matches (exact types: 0)

    def __init__(self, name: str, hex_len: int, aliases: tuple[str, ...] = ()) -> None:
        self.name, self.hex_len, self.aliases = name, hex_len, aliases

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def normalize(self, value: str) -> str:
        """Lowercase hex of the right length, or InvalidInput saying what is wrong."""
        text = value.strip().lower()
        if text.startswith("0x"):
            text = text[2:]
        if len(text) != self.hex_len or not _HEX.fullmatch(text):
            raise InvalidInput(
                f"not a {self.name} value ({self.hex_len} hex characters): {value.strip()[:80]!r}"
            )
        return text

    def of_file(self, signals: FileSignals) -> str | None:
        """This type's value for a hashed file, or None (a type no file yields: an info-hash)."""
        return None

    def put(self, signals: FileSignals, value: str) -> None:
        """Record a bare value (an API client hashed on its side) so it is matched like a file's."""
        raise InvalidInput(f"{self.name} values cannot be matched as bare hashes")

    def queries(
        self, signals: FileSignals, *, dihedral: bool, normalise: bool
    ) -> list[tuple[str | None, str]]:
        """(variant name, value) pairs a file is searched with; a match records the variant."""
        value = self.of_file(signals)
        return [(None, value)] if value else []

    def distance(self, a: str, b: str) -> int:
        return 0 if a == b else 1

    def matches(self, a: str, b: str, threshold: int | None = None) -> bool:
        return self.distance(a, b) <= (self.threshold if threshold is None else threshold)


class FileDigest(HashType):
    """A cryptographic digest of the file's bytes (MD5, SHA-1, SHA-256): equal means the same file."""

    def of_file(self, signals: FileSignals) -> str | None:
        return str(getattr(signals, self.name)) or None

    def put(self, signals: FileSignals, value: str) -> None:
        setattr(signals, self.name, value)


class Pdq(HashType):
    """Meta's PDQ: 256 bits, Hamming distance, matched within `threshold` (31) and only at PDQ
    quality >= 50. A file is searched with its 8 dihedral variants and the normalised variants
    (`vigil.signals.regions`); lists Vigil builds also index region hashes (`known_regions`)."""

    compare: ClassVar[Compare] = "hamming"
    threshold: ClassVar[int] = defaults.PDQ_RADIUS

    def of_file(self, signals: FileSignals) -> str | None:
        return signals.pdq

    def put(self, signals: FileSignals, value: str) -> None:
        signals.pdq, signals.pdq_quality = value, 100  # a bare hash carries no quality: trust it

    def queries(
        self, signals: FileSignals, *, dihedral: bool, normalise: bool
    ) -> list[tuple[str | None, str]]:
        if not signals.pdq:
            return []
        variants = signals.pdq_dihedral if dihedral and signals.pdq_dihedral else (signals.pdq,)
        out: list[tuple[str | None, str]] = list(zip(DIHEDRAL_NAMES, variants, strict=False))
        if normalise:
            out += list(signals.pdq_variants)
        return out

    def distance(self, a: str, b: str) -> int:
        return (int(a, 16) ^ int(b, 16)).bit_count()


class Vpdq(HashType):
    """A known video: the value is the SHA-256 of its vPDQ text; the frames live in video_frames
    and are matched frame by frame (`vigil.match.video`)."""

    compare: ClassVar[Compare] = "video"


HASH_TYPES: Registry[HashType] = Registry("hash type")
_IN_ORDER: list[HashType] = []


def register(kind: HashType) -> HashType:
    HASH_TYPES.add(kind.name, kind)
    _IN_ORDER.append(kind)
    for alias in kind.aliases:
        HASH_TYPES.add(alias, kind)
    return kind


for _kind in (
    FileDigest("md5", 32),
    FileDigest("sha1", 40, ("sha-1",)),
    FileDigest("sha256", 64, ("sha-256",)),
    Pdq("pdq", 64),
    Vpdq("vpdq", 64),
    # BitTorrent v1 info-hash (SHA-1 of the info dictionary): what P2P monitoring observes.
    HashType("btih", 40, ("infohash",)),
    # BitTorrent v2 info-hash (SHA-256 of the v2 info dictionary).
    HashType("btmh", 64, ("infohash-v2",)),
    # eDonkey/eMule file hash (MD4-based): what eD2k monitoring observes.
    HashType("ed2k", 32),
):
    register(_kind)


def unregister(kind: HashType) -> None:
    for name in (kind.name, *kind.aliases):
        HASH_TYPES.remove(name)
    _IN_ORDER.remove(kind)


def hash_type(name: str) -> HashType:
    return HASH_TYPES.get(name.strip())


def types() -> list[HashType]:
    """Each registered type once (aliases left out), in the order they were registered."""
    return list(_IN_ORDER)


def of_file() -> list[HashType]:
    """Types a hashed file yields a value of, matched by lookup (`exact`) or by index (`hamming`)."""
    return [kind for kind in types() if type(kind).of_file is not HashType.of_file]


EXACT_TYPES = tuple(k.name for k in of_file() if k.compare == "exact")  # md5, sha1, sha256
