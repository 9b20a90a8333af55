"""The audit log is append-only in the database and any edit breaks a verifiable hash chain."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from vigil.core.actor import Actor, Role
from vigil.store import audit
from vigil.store.db import Store


def _fill(store: Store, count: int = 5) -> None:
    for i in range(count):
        audit.log(store, Actor(f"r{i}", Role.REVIEWER), "review.view", f"review:{i}", {"n": i})


def test_chain_verifies(store: Store) -> None:
    _fill(store)
    result = audit.verify(store)
    assert result.ok and result.events == 5


def test_database_refuses_update_and_delete(store: Store) -> None:
    _fill(store, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert audit.verify(store).ok


def _without_triggers(store: Store, statement: str) -> None:
    """What an attacker with database owner rights could do: drop the guard, then edit."""
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        conn.execute(text(statement))


@pytest.mark.parametrize(
    ("statement", "seq", "problem"),
    [
        ("UPDATE audit_log SET detail = replace(detail, '2', '7') WHERE seq = 3", 3, "content"),
        ("UPDATE audit_log SET actor = 'admin:mallory' WHERE seq = 2", 2, "content"),
        ("DELETE FROM audit_log WHERE seq = 4", 5, "sequence gap"),
    ],
)
def test_tampering_is_detected(store: Store, statement: str, seq: int, problem: str) -> None:
    _fill(store)
    _without_triggers(store, statement)
    result = audit.verify(store)
    assert not result.ok and result.first_bad_seq == seq and problem in (result.problem or "")


def test_rewritten_hash_breaks_the_next_link(store: Store) -> None:
    _fill(store)
    _without_triggers(store, "UPDATE audit_log SET actor = 'x', hash = 'ab' || substr(hash, 3) WHERE seq = 2")
    result = audit.verify(store)
    assert not result.ok and result.first_bad_seq == 2


def test_concurrent_writers_keep_one_chain(store: Store) -> None:
    import threading

    failures: list[str] = []

    def write(worker: int) -> None:
        for n in range(15):
            try:
                audit.log(store, Actor.system(f"worker{worker}"), "test.concurrent", str(n))
            except Exception as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    result = audit.verify(store)
    assert result.ok and result.events == 90
