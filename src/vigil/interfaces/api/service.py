"""What the request handlers share: the store, the evidence vault, settings and the live matcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from vigil.actions.reports.domain import ReportSettings
from vigil.core import defaults
from vigil.core.actor import Actor
from vigil.match.live import LiveMatcher
from vigil.review.evidence import Vault
from vigil.store.db import Store, Tx
from vigil.store.models import ReviewItem


@dataclass
class ServiceConfig:
    required_votes: int = defaults.REQUIRED_VOTES
    reports: ReportSettings = field(default_factory=ReportSettings)
    scan_roots: list[Path] = field(default_factory=list)  # folders the API may scan; empty: any
    index_dir: Path | None = None  # shared memory-mapped index snapshots (multi-worker deployments)
    hma_anonymous_role: str | None = None  # role for keyless HMA-API callers (trusted networks only)
    hma_allowed_hosts: tuple[str, ...] = ()  # hosts HMA's URL hashing may fetch from


class Service:
    def __init__(self, store: Store, vault: Vault, config: ServiceConfig) -> None:
        self.store, self.vault, self.config = store, vault, config
        self.matchers = LiveMatcher(store, config.index_dir)

    def on_confirmed(self, tx: Tx, item: ReviewItem, reviewer: Actor) -> None:
        """Freeze a confirmed item's file and context into the vault, in the confirming transaction."""
        self.vault.preserve(tx, item, reviewer)


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service
