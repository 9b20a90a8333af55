"""Opening a store: engine, SQLite pragmas, migrating to head with Alembic, and transactions.

Domain code (each package's `domain` module) opens one `transaction()` per state change and
writes its audit event inside it, so the change and its audit record commit or roll back together.
Queries are built only in `vigil.store.repo`; the import contract forbids SQLAlchemy elsewhere.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DataError as DataError  # re-exported: callers above store stay ORM-free
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///vigil.db"
Tx = Session  # a session inside one transaction; domain code passes it to repositories
StoreError = SQLAlchemyError  # any database failure, for callers above the store
MIGRATIONS = Path(__file__).with_name("migrations")


def resolve_url(url: str | None = None) -> str:
    """Explicit URL, else $VIGIL_DB, else `vigil.db` in the working directory."""
    return url or os.environ.get("VIGIL_DB") or DEFAULT_URL


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config  # Alembic loads only when a store is opened, not at CLI start-up

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration: files are named after their revision (`0020_...py`, revision "0020"),
    a convention the tests hold against Alembic's own view of the head."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


class Store:
    """An engine with a migrated schema and a session factory."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = resolve_url(url)
        self.engine = create_engine(self.url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate and not self.at_head():
            from alembic import command

            command.upgrade(alembic_config(self.engine), "head")
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The engine's idle connections close when the store is dropped or the process exits,
        # whichever comes first: SQLAlchemy's pool sits in reference cycles, so otherwise only a
        # garbage collection closed them, and a SQLite connection left open at exit leaves the
        # write-ahead log beside the database file instead of checkpointed into it (`vigil` skips
        # the collections at exit: `vigil.core.teardown`).
        weakref.finalize(self, self.engine.dispose)

    def at_head(self) -> bool:
        """Whether the schema is at the newest migration, asked without loading Alembic and every
        migration script (15 MiB and a few hundred ms on each command that opens the store)."""
        try:
            with self.engine.connect() as connection:
                current = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError:
            return False
        return current == [head_revision()]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def local_files(self) -> list[Path]:
        """The database's own files on this machine (SQLite and its journals): never to be scanned,
        because a read-and-close of them in a process that holds the database drops its locks."""
        database = self.engine.url.database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            return []
        base = Path(database).resolve()
        return [base, *(base.with_name(base.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]

    def session(self) -> Session:
        """A session for reads (and for callers that commit themselves)."""
        return self.sessions()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One unit of work: committed when the block ends, rolled back if it raises.

        Callbacks registered with `after_commit` run once the commit has succeeded (for side
        effects outside the database that must not happen if the transaction is rolled back).
        """
        with self.sessions() as session:
            with session.begin():
                yield session
            for callback in session.info.pop("after_commit", []):
                callback()

    def close(self) -> None:
        self.engine.dispose()  # the store stays usable: the engine opens new connections on demand


def after_commit(tx: Tx, callback: Callable[[], object]) -> None:
    """Run `callback` after this transaction commits (never if it rolls back)."""
    tx.info.setdefault("after_commit", []).append(callback)
