"""The matcher a long-running service holds: rebuilt off to the side and swapped in without downtime.

With an index folder, every worker process memory-maps the same snapshot and picks up a newer one
(written by any worker or a list import) on its next request; requests in flight finish on the old.
"""

from __future__ import annotations

import threading
from pathlib import Path

from vigil.match import snapshot
from vigil.match.matcher import MatchConfig, Matcher
from vigil.store.db import Store


class LiveMatcher:
    def __init__(
        self, store: Store, index_dir: Path | None = None, config: MatchConfig | None = None
    ) -> None:
        self.store, self.index_dir, self.config = store, index_dir, config
        self._lock = threading.Lock()
        self._version: Path | None = None
        self._stale = False
        if index_dir is not None and snapshot.current(index_dir) is None:
            snapshot.write(store, index_dir)
        self._matcher = self._build()

    def _build(self) -> Matcher:
        if self.index_dir is None:
            return Matcher(self.store, self.config)
        self._version = snapshot.current(self.index_dir)
        return Matcher(self.store, self.config, snapshot_dir=self.index_dir)

    def mark_stale(self) -> None:
        """Lists changed: rebuild before the next match (cheaper than rebuilding on every change)."""
        self._stale = True

    @property
    def current(self) -> Matcher:
        """The live matcher; with snapshots, a newer version written by any worker is picked up."""
        if self._stale:
            self._stale = False
            return self.rebuild()
        if self.index_dir is not None and snapshot.current(self.index_dir) != self._version:
            fresh = self._build()
            with self._lock:
                self._matcher = fresh
        return self._matcher

    def rebuild(self) -> Matcher:
        """Build a new index from the store and swap it in; requests keep using the old one meanwhile."""
        if self.index_dir is not None:
            snapshot.write(self.store, self.index_dir)
        fresh = self._build()
        with self._lock:
            self._matcher = fresh
        return fresh
