"""The crawl frontier in the store: every URL seen, queued or done. Writes are batched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select, update

from vigil.lists.store import insert_ignore
from vigil.store.db import Store
from vigil.store.models import CrawlHit, CrawlUrl, utcnow
from vigil.web import urls

URL_TABLE: Table = CrawlUrl.__table__  # type: ignore[assignment]
HIT_TABLE: Table = CrawlHit.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Item:
    url: str
    kind: str  # page | image
    depth: int
    referrer: str | None


class Frontier:
    def __init__(self, store: Store, job_id: int) -> None:
        self.store, self.job_id = store, job_id
        self.seen: set[str] = set()
        self.queued: list[Item] = []
        with store.session() as session:
            for url_key, url, kind, depth, referrer, status in session.execute(
                select(
                    CrawlUrl.url_key,
                    CrawlUrl.url,
                    CrawlUrl.kind,
                    CrawlUrl.depth,
                    CrawlUrl.referrer,
                    CrawlUrl.status,
                ).where(CrawlUrl.job_id == job_id)
            ):
                self.seen.add(url_key)
                if status == "queued":
                    self.queued.append(Item(url, kind, depth, referrer))
        self._inserts: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._hits: list[dict[str, Any]] = []

    def add(self, item: Item) -> bool:
        """True if the URL is new to this crawl (and so should be fetched)."""
        k = urls.key(item.url)
        if k in self.seen:
            return False
        self.seen.add(k)
        self._inserts.append(
            {
                "job_id": self.job_id,
                "url_key": k,
                "url": item.url,
                "kind": item.kind,
                "depth": item.depth,
                "referrer": item.referrer,
                "status": "queued",
            }
        )
        return True

    def finish(
        self,
        url: str,
        status: str,
        http_status: int | None = None,
        sha256: str | None = None,
        note: str | None = None,
    ) -> None:
        self._updates.append(
            {
                "b_job": self.job_id,
                "b_key": urls.key(url),
                "status": status,
                "http_status": http_status,
                "content_sha256": sha256,
                "note": note,
                "fetched_at": utcnow(),
            }
        )

    def hit(self, page_url: str, image_url: str, sha256: str, detail: dict[str, Any]) -> None:
        self._hits.append(
            {
                "job_id": self.job_id,
                "page_url": page_url,
                "image_url": image_url,
                "image_sha256": sha256,
                "detail": detail,
                "status": "pending",
                "created_at": utcnow(),
            }
        )

    @property
    def pending(self) -> int:
        return len(self._inserts) + len(self._updates) + len(self._hits)

    def flush(self) -> None:
        if not self.pending:
            return
        with self.store.session() as session:
            if self._inserts:
                session.execute(
                    insert_ignore(self.store.dialect, URL_TABLE, ["job_id", "url_key"]),
                    self._inserts,
                )
            if self._updates:
                statement = (
                    update(URL_TABLE)
                    .where(CrawlUrl.job_id == bindparam("b_job"), CrawlUrl.url_key == bindparam("b_key"))
                    .values(
                        status=bindparam("status"),
                        http_status=bindparam("http_status"),
                        content_sha256=bindparam("content_sha256"),
                        note=bindparam("note"),
                        fetched_at=bindparam("fetched_at"),
                    )
                )
                session.execute(statement, self._updates)
            if self._hits:
                session.execute(
                    insert_ignore(self.store.dialect, HIT_TABLE, ["job_id", "page_url", "image_url"]),
                    self._hits,
                )
            session.commit()
        self._inserts, self._updates, self._hits = [], [], []
