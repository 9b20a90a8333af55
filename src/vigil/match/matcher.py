"""Match file signals against the store's lists: exact hashes by lookup, PDQ by Hamming radius.

Every dihedral variant of a query image is searched, so a flipped or rotated copy of a listed
image matches, and so are the normalised variants a fast-mode hash carries (the picture inside
borders, bars and caption bands; small counter-rotations), so a padded, screenshotted, captioned or
slightly turned copy matches too. Each hit carries its distance, the variant that hit, and all list
provenance.
Items whose exact hash is on an `ignore` list (NSRL-style) are flagged and not reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vigil.core import defaults
from vigil.core.states import ListPurpose
from vigil.match import snapshot
from vigil.match.pdq_index import DEFAULT_RADIUS, PdqIndex, build_index
from vigil.match.video import DEFAULT_MATCH_PERCENT, VideoIndex, VideoMatchConfig
from vigil.signals.compute import FileSignals
from vigil.signals.pdq import DIHEDRAL_NAMES
from vigil.signals.types import EXACT_TYPES
from vigil.store.db import Store
from vigil.store.repo import lists as lists

DEFAULT_MIN_QUALITY = defaults.PDQ_MIN_QUALITY
Hit = tuple[
    int, str, str, int, str | None, dict[str, Any] | None
]  # entry, type, value, distance, variant, detail


@dataclass(frozen=True)
class MatchConfig:
    radius: int = DEFAULT_RADIUS
    min_quality: int = DEFAULT_MIN_QUALITY
    dihedral: bool = True
    normalise: bool = True  # also search the content-region and counter-rotation variants (`regions`)
    index: str = "auto"
    video_match_percent: float = DEFAULT_MATCH_PERCENT


@dataclass(frozen=True)
class Match:
    entry_id: int
    hash_type: str
    value: str
    distance: int
    variant: str | None
    sources: tuple[lists.Provenance, ...]
    detail: dict[str, Any] | None = None


@dataclass
class ItemMatches:
    signals: FileSignals
    matches: list[Match] = field(default_factory=list)
    ignored: bool = False
    low_quality: bool = False


class Matcher:
    """Holds the PDQ index built from the store; rebuild with `refresh()` after list changes."""

    def __init__(
        self, store: Store, config: MatchConfig | None = None, snapshot_dir: Path | None = None
    ) -> None:
        self.store = store
        self.config = config or MatchConfig()
        self.snapshot_dir = snapshot_dir
        self._ids = np.empty(0, dtype=np.int64)
        self._index: PdqIndex = build_index(np.empty((0, 32), dtype=np.uint8), "flat")
        self._ignore_types: set[str] = set()
        self.refresh()

    @property
    def index_kind(self) -> str:
        return self._index.kind

    def __len__(self) -> int:
        return len(self._index)

    def refresh(self) -> None:
        if self.snapshot_dir is not None:
            self._ids, self._index = snapshot.load(self.snapshot_dir)
        else:
            self._ids, codes = lists.pdq_codes(self.store)
            self._index = build_index(codes, self.config.index)
        self._videos = VideoIndex(
            self.store,
            VideoMatchConfig(self.config.radius, self.config.min_quality, self.config.video_match_percent),
        )
        with self.store.session() as session:
            self._ignore_types = lists.ignore_types(session)

    def match_hashes(self, pairs: Sequence[tuple[str, str]]) -> list[Match]:
        """Matches for bare hashes (an API client that hashes on its side): exact types and PDQ."""
        signals = FileSignals("hashes", 0, "", "", "")
        for kind, value in pairs:
            if kind == "pdq":
                signals.pdq, signals.pdq_quality = value, 100
            elif kind in EXACT_TYPES:
                setattr(signals, kind, value)
        return self.match([signals])[0].matches

    def match(self, items: Sequence[FileSignals]) -> list[ItemMatches]:
        results = [ItemMatches(s) for s in items]
        found: dict[int, list[Hit]] = {i: [] for i in range(len(items))}
        self._match_exact(items, found, results)
        self._match_pdq(items, found, results)
        self._match_video(items, found, results)
        entry_ids = {hit[0] for hits in found.values() for hit in hits}
        with self.store.session() as session:
            sources = lists.provenance(session, entry_ids)
        for i, hits in found.items():
            for entry_id, kind, value, distance, variant, detail in hits:
                known = tuple(p for p in sources.get(entry_id, []) if p.purpose == ListPurpose.KNOWN)
                if known:
                    results[i].matches.append(Match(entry_id, kind, value, distance, variant, known, detail))
            results[i].matches.sort(key=lambda m: (m.distance, m.hash_type))
        return results

    def _match_exact(
        self,
        items: Sequence[FileSignals],
        found: dict[int, list[Hit]],
        results: list[ItemMatches],
    ) -> None:
        pairs = [(kind, getattr(s, kind)) for s in items for kind in EXACT_TYPES]
        with self.store.session() as session:
            ids = lists.lookup_exact(session, pairs)
            ignored_ids = lists.ignored(session, set(ids.values())) if self._ignore_types else set()
        for i, signals in enumerate(items):
            for kind in EXACT_TYPES:
                entry_id = ids.get((kind, getattr(signals, kind)))
                if entry_id is None:
                    continue
                if entry_id in ignored_ids:
                    results[i].ignored = True
                found[i].append((entry_id, kind, getattr(signals, kind), 0, None, None))

    def _match_pdq(
        self,
        items: Sequence[FileSignals],
        found: dict[int, list[Hit]],
        results: list[ItemMatches],
    ) -> None:
        queries: list[bytes] = []
        owners: list[tuple[int, str | None, float | None]] = []
        for i, signals in enumerate(items):
            if signals.video and not results[i].ignored:
                for frame in signals.video.frames + signals.video.cropped:
                    if frame.quality >= self.config.min_quality:
                        queries.append(bytes.fromhex(frame.pdq))
                        owners.append((i, None, frame.timestamp))
            if not signals.pdq or results[i].ignored:
                continue
            if (signals.pdq_quality or 0) < self.config.min_quality:
                results[i].low_quality = True
                continue
            variants = (
                signals.pdq_dihedral if self.config.dihedral and signals.pdq_dihedral else (signals.pdq,)
            )
            for name, value in zip(DIHEDRAL_NAMES, variants, strict=False):
                queries.append(bytes.fromhex(value))
                owners.append((i, name, None))
            if self.config.normalise:
                for name, value in signals.pdq_variants:
                    queries.append(bytes.fromhex(value))
                    owners.append((i, name, None))
        if not queries or len(self._index) == 0:
            return
        codes = np.frombuffer(b"".join(queries), dtype=np.uint8).reshape(-1, 32)
        best: dict[tuple[int, int], tuple[int, str | None, list[float]]] = {}
        for (i, variant, stamp), hits in zip(
            owners, self._index.search(codes, self.config.radius), strict=True
        ):
            for row, distance in hits:
                key = (i, int(self._ids[row]))
                stamps = best[key][2] if key in best else []
                if stamp is not None:
                    stamps.append(stamp)
                if key not in best or distance < best[key][0]:
                    best[key] = (distance, variant, stamps)
        if not best:
            return
        with self.store.session() as session:
            values = lists.entry_values(session, [entry_id for _, entry_id in best])
        for (i, entry_id), (distance, variant, stamps) in best.items():
            detail = {"video_timestamps": sorted(round(t, 3) for t in stamps)} if stamps else None
            found[i].append((entry_id, "pdq", values[entry_id], distance, variant, detail))

    def _match_video(
        self, items: Sequence[FileSignals], found: dict[int, list[Hit]], results: list[ItemMatches]
    ) -> None:
        if len(self._videos) == 0:
            return
        hits = {
            i: self._videos.match_video(s.video)
            for i, s in enumerate(items)
            if s.video and not results[i].ignored
        }
        wanted = {m.entry_id for matches in hits.values() for m in matches}
        if not wanted:
            return
        with self.store.session() as session:
            values = lists.entry_values(session, wanted)
        for i, matches in hits.items():
            for m in matches:
                found[i].append((m.entry_id, "vpdq", values[m.entry_id], m.best_distance, None, m.detail()))
