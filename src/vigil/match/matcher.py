"""Match file signals against the store's lists: exact hashes by lookup, PDQ by Hamming radius.

Every dihedral variant of a query image is searched, so a flipped or rotated copy of a listed
image matches, and so are the normalised variants a fast-mode hash carries (the picture inside
borders, bars and caption bands; small counter-rotations), so a padded, screenshotted, captioned or
slightly turned copy matches too. On lists Vigil built from files, the known pictures' region
hashes (crops, halves, quadrants) are indexed beside them, so a cropped copy matches too.
Each hit carries its distance, the variant that hit, the known region it hit, its tier (`tiers`:
exact, strong, or weak on a calibrated list) with an estimated false-match probability, and the
provenance of the lists that admit it.
Items whose exact hash is on an `ignore` list (NSRL-style) are flagged and not reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vigil.core import defaults
from vigil.core.states import ListPurpose
from vigil.match import snapshot
from vigil.match.pdq_index import DEFAULT_RADIUS, PdqIndex, build_index
from vigil.match.tiers import Calibration, TailFit, Tier, index_radius
from vigil.match.video import DEFAULT_MATCH_PERCENT, VideoIndex, VideoMatchConfig
from vigil.signals import types as signal_types
from vigil.signals.compute import FileSignals
from vigil.store.db import Store
from vigil.store.repo import calibrations
from vigil.store.repo import lists as lists

DEFAULT_MIN_QUALITY = defaults.PDQ_MIN_QUALITY
PDQ = signal_types.hash_type("pdq")  # the type the Hamming index holds (256-bit codes)
Hit = tuple[
    int, str, str, int, str | None, dict[str, Any] | None
]  # entry, type, value, distance, variant, detail


@dataclass(frozen=True)
class MatchConfig:
    radius: int = DEFAULT_RADIUS
    min_quality: int = DEFAULT_MIN_QUALITY
    dihedral: bool = True
    normalise: bool = True  # also search the content-region and counter-rotation variants (`regions`)
    weak: bool = True  # also report weak matches within calibrated lists' weak radius (`tiers`)
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
    detail: dict[str, Any] | None
    tier: Tier
    # estimated chance that a never-seen picture matches this list this closely (per query, all its
    # hashes); None where no list it is on was calibrated, or the match is exact
    false_match: float | None

    def recorded_detail(self) -> dict[str, Any] | None:
        """`detail` with the false-match estimate and, for a weak match, the lists that admit it (a
        report names only those), as scan records keep it."""
        out = dict(self.detail or {})
        if self.false_match is not None:
            out["false_match"] = float(f"{self.false_match:.3g}")
        if self.tier == Tier.WEAK:
            out["weak_on"] = sorted({s.list_name for s in self.sources})
        return out or None


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
        self._regions = np.empty(0, dtype="U8")
        self._index: PdqIndex = build_index(np.empty((0, 32), dtype=np.uint8), "flat")
        self._ignore_types: set[str] = set()
        self._calibrations: dict[str, Calibration] = {}
        self.refresh()

    @property
    def index_kind(self) -> str:
        return self._index.kind

    def __len__(self) -> int:
        return len(self._index)

    @property
    def search_radius(self) -> int:
        """The radius PDQ is searched at: the fixed radius, or the widest calibrated weak radius
        where the index can search that far (a snapshot's multi-index hash is built for one radius)."""
        return min(self._wanted_radius(), max(self.config.radius, self._index.max_radius))

    def _wanted_radius(self) -> int:
        weak = [c.weak_radius for c in self._calibrations.values()] if self.config.weak else []
        return index_radius(self.config.radius, weak)

    def refresh(self) -> None:
        with self.store.session() as session:
            self._ignore_types = lists.ignore_types(session)
            self._calibrations = {
                name: Calibration(
                    name,
                    TailFit(row.slope, row.intercept, dict(row.quantiles), row.closest),
                    row.codes,
                    row.weak_radius,
                    row.target,
                )
                for name, row in calibrations.latest(session).items()
            }
        if self.snapshot_dir is not None:
            self._ids, self._regions, self._index = snapshot.load(self.snapshot_dir)
        else:
            found = lists.pdq_codes(self.store)
            self._ids, self._regions = found.ids, found.regions
            self._index = build_index(found.codes, self.config.index, radius=self._wanted_radius())
        self._videos = VideoIndex(
            self.store,
            VideoMatchConfig(self.config.radius, self.config.min_quality, self.config.video_match_percent),
        )

    def match_hashes(self, pairs: Sequence[tuple[str, str]]) -> list[Match]:
        """Matches for bare hashes (an API client that hashes on its side): each type records its
        value as a file's would be (types no file yields, such as info-hashes, are refused)."""
        signals = FileSignals("hashes", 0, "", "", "")
        for kind, value in pairs:
            signal_types.hash_type(kind).put(signals, value)
        return self.match([signals])[0].matches

    def match(self, items: Sequence[FileSignals]) -> list[ItemMatches]:
        results = [ItemMatches(s) for s in items]
        found: dict[int, list[Hit]] = {i: [] for i in range(len(items))}
        self._match_exact(items, found, results)
        hashes = self._match_pdq(items, found, results)
        self._match_video(items, found, results)
        entry_ids = {hit[0] for hits in found.values() for hit in hits}
        with self.store.session() as session:
            sources = lists.provenance(session, entry_ids)
        for i, hits in found.items():
            for entry_id, kind, value, distance, variant, detail in hits:
                known = tuple(p for p in sources.get(entry_id, []) if p.purpose == ListPurpose.KNOWN)
                match = self._tiered(
                    entry_id, kind, value, distance, variant, known, detail, hashes.get(i, 1)
                )
                if match is not None:
                    results[i].matches.append(match)
            results[i].matches.sort(key=lambda m: (m.distance, m.hash_type))
        return results

    def _tiered(
        self,
        entry_id: int,
        kind: str,
        value: str,
        distance: int,
        variant: str | None,
        known: tuple[lists.Provenance, ...],
        detail: dict[str, Any] | None,
        hashes: int,
    ) -> Match | None:
        """The match with its tier, keeping only the lists that admit it at this distance."""
        if not known:
            return None
        compare = signal_types.hash_type(kind).compare
        if compare == "exact":
            return Match(entry_id, kind, value, distance, variant, known, detail, Tier.EXACT, None)
        if compare == "video":  # its own frame thresholds, at the fixed radius
            return Match(entry_id, kind, value, distance, variant, known, detail, Tier.STRONG, None)
        if distance <= self.config.radius:
            tier, admitted = Tier.STRONG, known
        else:
            admitted = tuple(
                p
                for p in known
                if p.list_name in self._calibrations
                and distance <= self._calibrations[p.list_name].weak_radius
            )
            tier = Tier.WEAK
        if not admitted:
            return None
        estimates = [
            self._calibrations[p.list_name].false_match(distance, hashes)
            for p in admitted
            if p.list_name in self._calibrations
        ]
        return Match(
            entry_id, kind, value, distance, variant, admitted, detail, tier, max(estimates, default=None)
        )

    def _match_exact(
        self,
        items: Sequence[FileSignals],
        found: dict[int, list[Hit]],
        results: list[ItemMatches],
    ) -> None:
        exact = [k for k in signal_types.of_file() if k.compare == "exact"]
        wanted = [[(k.name, v) for k in exact if (v := k.of_file(s))] for s in items]
        with self.store.session() as session:
            ids = lists.lookup_exact(session, [pair for pairs in wanted for pair in pairs])
            ignored_ids = lists.ignored(session, set(ids.values())) if self._ignore_types else set()
        for i, pairs in enumerate(wanted):
            for kind, value in pairs:
                entry_id = ids.get((kind, value))
                if entry_id is None:
                    continue
                if entry_id in ignored_ids:
                    results[i].ignored = True
                found[i].append((entry_id, kind, value, 0, None, None))

    def _match_pdq(
        self,
        items: Sequence[FileSignals],
        found: dict[int, list[Hit]],
        results: list[ItemMatches],
    ) -> dict[int, int]:
        """Searches every query hash; returns how many hashes each item was searched with."""
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
            for name, value in PDQ.queries(
                signals, dihedral=self.config.dihedral, normalise=self.config.normalise
            ):
                queries.append(bytes.fromhex(value))
                owners.append((i, name, None))
        counts = Counter(i for i, _, _ in owners)
        if not queries or len(self._index) == 0:
            return counts
        codes = np.frombuffer(b"".join(queries), dtype=np.uint8).reshape(-1, 32)
        best: dict[tuple[int, int], tuple[int, str | None, list[float], str]] = {}
        for (i, variant, stamp), hits in zip(
            owners, self._index.search(codes, self.search_radius), strict=True
        ):
            for row, distance in hits:
                key = (i, int(self._ids[row]))
                stamps = best[key][2] if key in best else []
                if stamp is not None:
                    stamps.append(stamp)
                if key not in best or distance < best[key][0]:
                    best[key] = (distance, variant, stamps, str(self._regions[row]))
        if not best:
            return counts
        with self.store.session() as session:
            values = lists.entry_values(session, [entry_id for _, entry_id in best])
        for (i, entry_id), (distance, variant, stamps, region) in best.items():
            detail: dict[str, Any] = (
                {"video_timestamps": sorted(round(t, 3) for t in stamps)} if stamps else {}
            )
            if region:
                detail["known_region"] = region
            found[i].append((entry_id, PDQ.name, values[entry_id], distance, variant, detail or None))
        return counts

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
