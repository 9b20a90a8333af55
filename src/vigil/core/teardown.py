"""Ending a process without the interpreter's last garbage collections."""

from __future__ import annotations

import gc


def skip_exit_collections() -> None:
    """Move every object still alive into the collector's permanent generation, which the full
    collections Python runs while it tears its modules down pass over.

    After a crawl of scikit-learn's documentation those collections took 0.23-0.27 s between the
    summary's last line and the process's end (113,000 objects: SQLAlchemy, NumPy, aiohttp and the
    rest of what the crawl loaded), 0.03 s once frozen; a crawl's wall time counts them against
    Scrapy's. Everything else an exit does still happens: atexit handlers, flushed output, objects
    freed by their reference counts. Only objects in reference cycles are no longer finalised, so
    what holds an outside resource in one must be closed another way: SQLAlchemy's pooled SQLite
    connections, left open, leave the write-ahead log beside the database file instead of
    checkpointed into it, which is why a `vigil.store.db.Store` disposes its engine through a
    `weakref.finalize` (run when the store is dropped, or by atexit)."""
    gc.freeze()
