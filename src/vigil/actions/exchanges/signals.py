"""Signal types shared with threatexchange and HMA, mapped to Vigil's hash types.

HMA and threatexchange name signals `pdq`, `video_md5` and `video_sha256` (the MD5 and SHA-256 of a
video file's bytes, which are Vigil's `md5` and `sha256`). A `url` goes to the blocklist as a
proposal (`routes`); `url_md5`, `raw_text` and `trend_query` are refused per item with the reason,
not silently kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.signal_base import SignalType

from vigil.core.registry import Registry


@dataclass(frozen=True)
class SharedSignal:
    name: str  # threatexchange / HMA name
    hash_type: str  # Vigil hash type
    te_type: type[SignalType]
    content_type: str  # HMA content type whose upload produces it


SIGNALS: Registry[SharedSignal] = Registry("shared signal type")
for _s in (
    SharedSignal("pdq", "pdq", PdqSignal, "photo"),
    SharedSignal("video_md5", "md5", VideoMD5Signal, "video"),
    SharedSignal("video_sha256", "sha256", VideoSHA256Signal, "video"),
):
    SIGNALS.add(_s.name, _s)


def by_hash_type(hash_type: str) -> SharedSignal | None:
    return next((s for _, s in SIGNALS if s.hash_type == hash_type), None)


def te_types() -> list[type[SignalType]]:
    return [s.te_type for _, s in SIGNALS]
