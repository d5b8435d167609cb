"""A write whose transaction the database aborts whole (a deadlock) is run again,
a bounded number of times, and is never half-applied; on every backend.

The deadlock is real: another connection holds row ``b`` while the connector's
update of ``[a, b]`` holds ``a`` and waits for ``b``; then the other connection
asks for ``a``. The database breaks the cycle by rolling the connector's
transaction back (it has changed nothing yet); the connector runs it again once
the other side commits.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from conftest import TEXT_ID, create_table

from connector import service

# Filler rows the other side changes first, so that MariaDB, which rolls back
# the transaction that changed fewer rows, picks the connector's.
FILLER = [{"_id": f"f{i:02d}", "n": 0} for i in range(20)]


@pytest.fixture
def counters(engine):
    return create_table(
        engine,
        "counters",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.Integer),
        rows=[{"_id": "a", "n": 0}, {"_id": "b", "n": 0}, *FILLER],
    )


def _waiting(engine, backend) -> bool:
    """Whether some session waits for a row lock."""
    query = {
        "postgresql": "SELECT count(*) FROM pg_locks WHERE NOT granted",
        "mariadb": (
            "SELECT count(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'"
        ),
    }[backend]
    with engine.connect() as conn:
        return conn.exec_driver_sql(query).scalar() > 0


def _sessions(engine, backend) -> list:
    """What every session is doing, for a failure message."""
    query = {
        "postgresql": "SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity",
        "mariadb": "SELECT id, command, state, info FROM information_schema.processlist",
    }[backend]
    with engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(query)]


def _wait_until_blocked(engine, backend, writer, answers):
    """Wait until the connector's update holds ``a`` and waits for ``b``.

    A loaded CI machine can take seconds to start the request, so the deadline
    is generous; a writer that answered without waiting fails at once.
    """
    deadline = time.monotonic() + 60
    while not _waiting(engine, backend):
        if not writer.is_alive():
            pytest.fail(f"the update answered without waiting for b: {answers}")
        if time.monotonic() > deadline:
            pytest.fail(f"the update never waited for b; sessions: {_sessions(engine, backend)}")
        time.sleep(0.02)


def test_a_deadlocked_batch_is_run_again_and_applied_whole(api, engine, backend, counters, caplog):
    if backend == "sqlite":
        pytest.skip("SQLite writers take the write lock up front: no deadlock is possible")
    # The connector opens the table once first: on a loaded machine MariaDB was
    # seen to hold a fresh table's first statement for seconds before it took
    # any lock, past the statement timeout; this test is about the deadlock.
    assert api.post("/v3/items/query", {"collectionId": "counters"})[0] == 200
    answers = []
    request = {"collectionId": "counters", "items": [{"_id": "a", "n": 7}, {"_id": "b", "n": 7}]}
    writer = threading.Thread(target=lambda: answers.append(api.post("/v3/items/update", request)))
    # A failure before the commit still ends the other transaction, so that the
    # scratch database can be dropped and the failure is reported.
    with engine.connect() as other, caplog.at_level("INFO", logger="connector"):
        other_tx = other.begin()
        try:
            other.execute(counters.update().where(counters.c._id.like("f%")).values(n=1))
            other.execute(counters.update().where(counters.c._id == "b").values(n=1))
            writer.start()
            _wait_until_blocked(engine, backend, writer, answers)
            other.execute(counters.update().where(counters.c._id == "a").values(n=1))  # the cycle
            other_tx.commit()
        finally:
            if other_tx.is_active:
                other_tx.rollback()
            if writer.is_alive():
                writer.join(30)
    assert answers, "the update never answered"
    status, body = answers[0]
    assert status == 200, body
    assert body["results"] == [{"item": {"_id": "a", "n": 7}}, {"item": {"_id": "b", "n": 7}}]
    assert any("write transaction aborted" in r.getMessage() for r in caplog.records)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(counters.c._id, counters.c.n)).all())
    assert stored == {"a": 7, "b": 7, **{f["_id"]: 1 for f in FILLER}}


def test_retries_are_bounded(api, engine, counters, monkeypatch):
    """A transaction that is aborted every time answers 503 after the last
    attempt, and has changed nothing."""
    attempts = []
    real = service._run_once

    def always_deadlocked(cat, collection, fn, args, write):
        def deadlocked(conn, collection, *rest):
            fn(conn, collection, *rest)  # the write is done, then the database aborts it
            attempts.append(1)
            raise sa.exc.OperationalError("UPDATE", {}, _Deadlock())

        return real(cat, collection, deadlocked, args, write)

    monkeypatch.setattr(service, "_run_once", always_deadlocked)
    monkeypatch.setattr(service.time, "sleep", lambda s: None)
    status, body = api.post(
        "/v3/items/update", {"collectionId": "counters", "items": [{"_id": "a", "n": 9}]}
    )
    assert status == 503 and body["errorCode"] == "DATABASE_UNAVAILABLE", body
    assert len(attempts) == service.WRITE_ATTEMPTS
    with engine.connect() as conn:
        assert conn.execute(sa.select(counters.c.n).where(counters.c._id == "a")).scalar() == 0


class _Deadlock(Exception):
    """What PostgreSQL's driver raises for a deadlock (SQLSTATE 40P01)."""

    sqlstate = "40P01"
