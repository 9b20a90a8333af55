"""What the request handlers share: the store, the evidence vault, settings and the live matcher."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from vigil.actions.reports.domain import ReportSettings
from vigil.core import defaults
from vigil.core.actor import Actor
from vigil.interfaces.api.guards import Limits
from vigil.interfaces.api.workers import MediaPool, RateLimiter
from vigil.match.live import LiveMatcher
from vigil.review.domain import settle_quarantine
from vigil.review.evidence import Vault
from vigil.store import anchor, sealed
from vigil.store.db import Store, Tx, after_commit
from vigil.store.models import ReviewItem


@dataclass
class ServiceConfig:
    required_votes: int = defaults.REQUIRED_VOTES
    reports: ReportSettings = field(default_factory=ReportSettings)
    scan_roots: list[Path] = field(default_factory=list)  # folders the API may scan; empty: any
    index_dir: Path | None = None  # shared memory-mapped index snapshots (multi-worker deployments)
    hma_anonymous_role: str | None = None  # role for keyless HMA-API callers (trusted networks only)
    hma_allowed_hosts: tuple[str, ...] = ()  # hosts HMA's URL hashing may fetch from ("*": any public)
    hma_max_remote_file_size: int = 100 * 1024 * 1024  # HMA's MAX_REMOTE_FILE_SIZE default
    hma_index_stale_after: float = 0.0  # /status answers INDEX-STALE past this many seconds (0: never)
    limits: Limits = field(default_factory=Limits)  # request body sizes per path
    media_workers: int = 2  # processes hashing uploads
    media_backlog: int = 8  # uploads that may wait for a worker before 429
    media_max_pixels: int = 50_000_000  # uploads above this are refused from their header
    rate_per_second: float = 100.0  # per key, on average (0: no limit)
    rate_burst: int = 500
    public_docs: bool = False  # serve /docs and /openapi.json without a key
    spool_dir: Path = Path("vigil-spool")  # uploaded list files wait here for `vigil worker`
    index_check_every: float = 1.0  # seconds between looks at the store's list generation
    index_watch: bool = True  # look in the background too, not only before a match (HMA's index cache task)


class Service:
    def __init__(self, store: Store, vault: Vault, config: ServiceConfig) -> None:
        self.store, self.vault, self.config = store, vault, config
        self.matchers = LiveMatcher(store, config.index_dir, check_every=config.index_check_every)
        self.media = MediaPool(config.media_workers, config.media_backlog, max_pixels=config.media_max_pixels)
        self.rate = RateLimiter(config.rate_per_second, config.rate_burst)

    def protected_paths(self) -> list[Path]:
        """The service's own files: never scanned (its database, vault, keys, index, audit anchor)."""
        paths = [*self.store.local_files(), self.vault.folder, *self.vault.key_files, sealed.key_file()]
        paths += [p for p in (self.config.index_dir, anchor.anchor_path()) if p is not None]
        if key := os.environ.get(anchor.KEY_ENV):
            paths.append(Path(key))
        return paths

    def on_confirmed(self, tx: Tx, item: ReviewItem, reviewer: Actor) -> None:
        """Freeze a confirmed item's file and context into the vault, in the confirming transaction;
        its quarantined upload is deleted once that commit has succeeded."""
        self.vault.preserve(tx, item, reviewer)
        self.on_rejected(tx, item, reviewer)

    def on_rejected(self, tx: Tx, item: ReviewItem, reviewer: Actor) -> None:
        """A decided item's quarantined upload is not kept (after the commit, if no other item needs it)."""
        sha256 = item.sha256
        after_commit(tx, lambda: settle_quarantine(self.store, self.vault, sha256))


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service
