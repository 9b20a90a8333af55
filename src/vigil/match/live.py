"""The matcher a long-running service holds: rebuilt off to the side and swapped in without downtime.

Every change to list entries bumps the store's `lists` generation in the same transaction, whoever
makes it: a list import run by `vigil worker`, an exchange fetch from cron, a bank change in
another service process. The live matcher compares the generation it was built from with the
store's (at most once a second) and rebuilds when they differ, so no process serves a stale index
for longer than one check plus one build. With an index folder, every worker process memory-maps
the same snapshot; the snapshot records its generation, so only the first process to notice a
change writes a new one and the others map it; requests in flight finish on the old index.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vigil.core.clock import utcnow
from vigil.match import snapshot
from vigil.match.matcher import MatchConfig, Matcher
from vigil.store.db import Store
from vigil.store.repo import generations


@dataclass(frozen=True)
class IndexStatus:
    built_at: datetime  # when the index now serving was built (or its snapshot mapped)
    generation: int  # the list generation it was built from
    store_generation: int  # the store's generation now
    checked_at: float  # wall time of the last look at the store's generation

    @property
    def stale(self) -> bool:
        return self.store_generation != self.generation


class LiveMatcher:
    def __init__(
        self,
        store: Store,
        index_dir: Path | None = None,
        config: MatchConfig | None = None,
        *,
        check_every: float = 1.0,
    ) -> None:
        self.store, self.index_dir, self.config = store, index_dir, config
        self.check_every = check_every
        self._lock = threading.Lock()
        self._version: Path | None = None
        self._stale = False
        self._checked = time.monotonic()
        self.checked_at = time.time()  # wall clock of the last generation check (for /status)
        self._generation = self._store_generation()
        if index_dir is not None:
            if snapshot.current(index_dir) is None:
                snapshot.write(self.store, index_dir, generation=self._generation, radius=self._radius)
            else:  # an existing snapshot may be older than the store: the first check catches up
                self._generation = snapshot.generation_of(index_dir)
        self._built_at = utcnow()
        self._matcher = self._build()
        self.ready = True  # an index is loaded and serving (HMA's /status says INDEX-NOT-LOADED before)

    @property
    def _radius(self) -> int:
        return (self.config or MatchConfig()).radius

    def _store_generation(self) -> int:
        with self.store.session() as session:
            return generations.current(session)

    def _build(self) -> Matcher:
        if self.index_dir is None:
            return Matcher(self.store, self.config)
        self._version = snapshot.current(self.index_dir)
        return Matcher(self.store, self.config, snapshot_dir=self.index_dir)

    def mark_stale(self) -> None:
        """Lists changed in this process: rebuild before the next match."""
        self._stale = True

    @property
    def current(self) -> Matcher:
        """The live matcher, rebuilt first if the lists changed anywhere since it was built."""
        if self._stale:
            self._stale = False
            return self.rebuild()
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            generation = self._store_generation()
            self.checked_at = time.time()
            if generation != self._generation:
                return self._refresh(generation)
        if self.index_dir is not None and snapshot.current(self.index_dir) != self._version:
            self._swap(self._build(), max(self._generation, snapshot.generation_of(self.index_dir)))
        return self._matcher

    def _refresh(self, generation: int) -> Matcher:
        """Catch up with the store: map a snapshot another process already wrote for this
        generation, else build one."""
        if self.index_dir is not None and snapshot.generation_of(self.index_dir) >= generation:
            return self._swap(self._build(), generation)
        return self.rebuild()

    def _swap(self, fresh: Matcher, generation: int) -> Matcher:
        with self._lock:
            self._matcher, self._generation, self._built_at = fresh, generation, utcnow()
        return fresh

    def rebuild(self) -> Matcher:
        """Build a new index from the store and swap it in; requests keep using the old one meanwhile."""
        generation = self._store_generation()  # read first: a change landing meanwhile rebuilds again
        if self.index_dir is not None:
            snapshot.write(self.store, self.index_dir, generation=generation, radius=self._radius)
        return self._swap(self._build(), generation)

    def refresh(self) -> None:
        """Catch up with the store now if it moved (what a match would do first)."""
        self._checked = 0.0
        _ = self.current

    def status(self) -> IndexStatus:
        """What the index now serving was built from, and whether the store has moved on."""
        return IndexStatus(self._built_at, self._generation, self._store_generation(), self.checked_at)
