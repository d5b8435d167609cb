"""The statement time limit (``CONNECTOR_STATEMENT_TIMEOUT_MS``), on every backend.

A query that runs past it ends with a 503 ``STATEMENT_TIMEOUT`` naming the limit,
quickly, and the connection serves the next request. (The size limits, on
bodies, pages, filters and batches, are tested beside the endpoints they guard:
test_auth, test_query, test_robustness, test_writes.)
"""

from __future__ import annotations

import time

import pytest
from conftest import Client

from connector import create_app

LIMIT_MS = 300

#: A view that takes seconds to read: the database's own sleep, or on SQLite a
#: long recursive count (its columns come from a table, so they keep their types).
SLOW_VIEW = {
    "postgresql": [
        "CREATE TABLE base (_id VARCHAR(10) PRIMARY KEY, t INTEGER)",
        "CREATE VIEW slow AS SELECT _id, t FROM base WHERE pg_sleep(5) IS NOT NULL",
    ],
    "mariadb": [
        "CREATE TABLE base (_id VARCHAR(10) PRIMARY KEY, t INTEGER)",
        "CREATE VIEW slow AS SELECT _id, t FROM base WHERE SLEEP(5) = 0",
    ],
    "sqlite": [
        "CREATE TABLE base (_id VARCHAR(10) PRIMARY KEY, t INTEGER)",
        "CREATE VIEW slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
        " WHERE x < 1000000000) SELECT base._id AS _id, base.t AS t FROM base"
        " WHERE (SELECT count(*) FROM c) > 0",
    ],
}


@pytest.fixture
def limited(engine, backend, app_config):
    with engine.begin() as conn:
        for statement in SLOW_VIEW[backend]:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("INSERT INTO base VALUES ('a', 1)")
    application = create_app({**app_config, "CONNECTOR_STATEMENT_TIMEOUT_MS": LIMIT_MS})
    yield application
    application.extensions["connector.engine"].dispose()


def test_a_query_past_the_limit_is_stopped_and_the_connection_serves_on(limited):
    api = Client(limited)
    for _ in range(2):  # the second runs on the connection the first one used
        started = time.monotonic()
        status, body = api.query("slow")
        took = time.monotonic() - started
        assert status == 503, body
        assert body == {
            "errorCode": "STATEMENT_TIMEOUT",
            "errorMessage": "The database took longer than CONNECTOR_STATEMENT_TIMEOUT_MS "
            f"({LIMIT_MS} ms) allows, and the statement was stopped; "
            "narrow the query or try again.",
            "data": {"timeoutMs": LIMIT_MS},
        }
        assert took < 3, f"the limit did not stop the statement ({took:.1f} s)"
        assert api.items("base") == [{"_id": "a", "t": 1}]
    status, body = api.post(
        "/v3/items/insert", {"collectionId": "base", "items": [{"_id": "b", "t": 2}]}
    )
    assert status == 200 and body["results"] == [{"item": {"_id": "b", "t": 2}}], body
    assert limited.extensions["connector.engine"].pool.checkedout() == 0


def test_the_limit_is_set_on_every_server_session(limited, backend):
    engine = limited.extensions["connector.engine"]
    if backend == "sqlite":  # no session setting: the progress handler's deadline is the limit
        with engine.connect() as conn:
            assert conn.info["connector.deadline"] == [None]  # set per statement, then cleared
        return
    query = {
        "postgresql": "SHOW statement_timeout",
        "mariadb": "SELECT @@SESSION.max_statement_time",
    }[backend]
    with engine.connect() as conn:
        value = conn.exec_driver_sql(query).scalar()
    assert str(value) in ("300ms", "0.3", "0.300000")
