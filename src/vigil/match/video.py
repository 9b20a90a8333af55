"""Video-to-video matching over vPDQ frames, with the time ranges that matched.

All known-video frames (quality >= threshold) go into one PDQ index. A query video's frames are
searched at once; per known video we count the query frames that found any of its frames and the
known frames that were found, as the reference `vpdq` matcher does by brute force. A clip cut out
of a known video scores high on the query side; a known clip inside a longer upload scores high
on the known side; either over the threshold is a match.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from vigil.core import defaults
from vigil.match.pdq_index import DEFAULT_RADIUS, PdqIndex, build_index
from vigil.signals.vpdq import REGIONS, FrameHash, VideoHash
from vigil.store.db import Store
from vigil.store.repo import lists

DEFAULT_MATCH_PERCENT = defaults.VIDEO_MATCH_PERCENT


@dataclass(frozen=True)
class VideoMatchConfig:
    radius: int = DEFAULT_RADIUS
    min_quality: int = 50
    match_percent: float = DEFAULT_MATCH_PERCENT


@dataclass
class VideoMatch:
    entry_id: int
    query_percent: float
    known_percent: float
    best_distance: int
    query_ranges: list[tuple[float, float]] = field(default_factory=list)
    known_ranges: list[tuple[float, float]] = field(default_factory=list)
    region: str = "full"  # which part of the picture matched

    def detail(self) -> dict[str, object]:
        return {
            "query_percent": round(self.query_percent, 1),
            "known_percent": round(self.known_percent, 1),
            "query_ranges": [[round(a, 3), round(b, 3)] for a, b in self.query_ranges],
            "known_ranges": [[round(a, 3), round(b, 3)] for a, b in self.known_ranges],
            "region": self.region,
        }


def time_ranges(stamps: np.ndarray, step: float) -> list[tuple[float, float]]:
    """Merge sorted timestamps into [start, end] runs; a gap over 2.5 sampling steps splits a run."""
    if stamps.size == 0:
        return []
    values = np.unique(stamps)
    breaks = np.flatnonzero(np.diff(values) > 2.5 * step)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [values.size - 1]))
    return [(float(values[a]), float(values[b])) for a, b in zip(starts, ends, strict=True)]


def _step(stamps: np.ndarray) -> float:
    gaps = np.diff(np.unique(stamps))
    return float(np.median(gaps)) if gaps.size else 1.0


class _RegionIndex:
    """Known-video frames of one region (the whole frame, or one half-picture) in one PDQ index."""

    def __init__(self, store: Store, config: VideoMatchConfig, region: str) -> None:
        self.config, self.region = config, region
        self._entries, self._stamps, self._numbers, codes = lists.known_video_frames(
            store, config.min_quality, region
        )
        self._index: PdqIndex = build_index(codes)
        # Rows come ordered by entry, so each entry's frames are one contiguous run.
        ids, starts, counts = np.unique(self._entries, return_index=True, return_counts=True)
        self._frames_per_entry = dict(zip(ids.tolist(), counts.tolist(), strict=True))
        self._step = {
            int(e): _step(self._stamps[s : s + n]) for e, s, n in zip(ids, starts, counts, strict=True)
        }

    def __len__(self) -> int:
        return len(self._index)

    def match(self, frames: list[FrameHash]) -> list[VideoMatch]:
        eligible = [f for f in frames if f.quality >= self.config.min_quality]
        if not eligible or len(self._index) == 0:
            return []
        raw = b"".join(bytes.fromhex(f.pdq) for f in eligible)
        codes = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32)
        query_hits: dict[int, set[int]] = defaultdict(set)
        known_hits: dict[int, set[int]] = defaultdict(set)
        best: dict[int, int] = {}
        for qi, hits in enumerate(self._index.search(codes, self.config.radius)):
            for row, distance in hits:
                entry = int(self._entries[row])
                query_hits[entry].add(qi)
                known_hits[entry].add(row)
                best[entry] = min(best.get(entry, distance), distance)
        query_stamps = np.asarray([f.timestamp for f in eligible])
        query_step = _step(query_stamps)
        results = []
        for entry, matched in query_hits.items():
            query_percent = 100.0 * len(matched) / len(eligible)
            known_percent = 100.0 * len(known_hits[entry]) / self._frames_per_entry[entry]
            if max(query_percent, known_percent) < self.config.match_percent:
                continue
            rows = np.fromiter(known_hits[entry], dtype=np.int64)
            results.append(
                VideoMatch(
                    entry,
                    query_percent,
                    known_percent,
                    best[entry],
                    time_ranges(query_stamps[sorted(matched)], query_step),
                    time_ranges(self._stamps[rows], max(self._step[entry], query_step)),
                    self.region,
                )
            )
        return results


class VideoIndex:
    """Whole-frame index plus one per half-picture region (for known videos Vigil hashed itself;
    reference vPDQ files carry whole frames only)."""

    def __init__(self, store: Store, config: VideoMatchConfig | None = None) -> None:
        self.config = config or VideoMatchConfig()
        self._regions = {name: _RegionIndex(store, self.config, name) for name in ("full", *REGIONS)}

    def __len__(self) -> int:
        return len(self._regions["full"])

    def match(self, frames: list[FrameHash], region: str = "full") -> list[VideoMatch]:
        return sorted(
            self._regions[region].match(frames), key=lambda m: -max(m.query_percent, m.known_percent)
        )

    def match_video(self, video: VideoHash) -> list[VideoMatch]:
        """Best evidence per known video: whole frames as decoded, inside bars, or one half-picture."""
        attempts = [("full", video.frames), ("full", video.cropped)]
        attempts += [(name, video.regions.get(name, [])) for name in REGIONS]
        best: dict[int, VideoMatch] = {}
        for region, frames in attempts:
            for found in self._regions[region].match(frames):
                held = best.get(found.entry_id)
                if held is None or max(found.query_percent, found.known_percent) > max(
                    held.query_percent, held.known_percent
                ):
                    best[found.entry_id] = found
        return sorted(best.values(), key=lambda m: -max(m.query_percent, m.known_percent))
