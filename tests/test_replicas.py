"""Read replicas (``DATABASE_READ_URL``): which engine each call runs on, and what
happens when a replica is down; on every backend.

Here the "replica" is a second engine on the same database, so that each
statement can be traced to the engine that ran it. A real PostgreSQL standby,
with its replication lag, is in ``test_replica_postgresql.py``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import TEXT_ID, Client, create_table
from sqlalchemy import event

from connector import create_app
from connector.db import get_engine, get_replicas, replica_urls

CITIES = [{"_id": "c1", "name": "Oslo", "size": 7}, {"_id": "c2", "name": "Rome", "size": 28}]


@pytest.fixture
def cities(engine):
    return create_table(
        engine,
        "cities",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(50)),
        sa.Column("size", sa.Integer),
        rows=CITIES,
    )


def _traced(app_config, read_url):
    """An app with ``DATABASE_READ_URL=read_url``, and the statements each of its
    engines runs that touch the ``cities`` table."""
    app = create_app({**app_config, "DATABASE_READ_URL": read_url})
    ran = {"primary": [], "replica": []}
    engines = {"primary": get_engine(app), "replica": get_replicas(app)[0]}
    for name, engine in engines.items():

        def record(conn, cursor, statement, *rest, name=name):
            if "cities" in statement:
                ran[name].append(statement.split(None, 1)[0].upper())

        event.listen(engine, "before_cursor_execute", record)
    return app, ran


@pytest.fixture
def traced(app_config, database_url, cities):
    app, ran = _traced(app_config, database_url)
    client = Client(app)
    assert client.items("cities") == CITIES  # the catalog reflects from the primary once
    for statements in ran.values():
        statements.clear()
    yield client, ran
    for engine in [get_engine(app), *get_replicas(app)]:
        engine.dispose()


def test_queries_counts_aggregates_and_distinct_values_read_the_replica(traced):
    client, ran = traced
    assert client.items("cities", {"sort": [{"fieldName": "size", "order": "DESC"}]}) == [
        CITIES[1],
        CITIES[0],
    ]
    assert client.post("/v3/items/count", {"collectionId": "cities"}) == (200, {"totalCount": 2})
    status, body = client.post(
        "/v3/items/aggregate",
        {
            "collectionId": "cities",
            "aggregation": {
                "groupingFields": [],
                "operations": [{"resultFieldName": "total", "sum": {"itemFieldName": "size"}}],
            },
        },
    )
    assert (status, body["items"]) == (200, [{"total": 35}]), body
    status, body = client.post(
        "/v3/items/query-distinct-values", {"collectionId": "cities", "fieldName": "name"}
    )
    assert (status, body["distinctValues"]) == (200, ["Oslo", "Rome"]), body
    assert ran == {"primary": [], "replica": ["SELECT"] * len(ran["replica"])}
    assert len(ran["replica"]) >= 4


def test_a_consistent_read_and_every_write_use_the_primary(traced):
    client, ran = traced
    assert client.items("cities", consistentRead=True) == CITIES
    assert client.post("/v3/items/count", {"collectionId": "cities", "consistentRead": True}) == (
        200,
        {"totalCount": 2},
    )
    new = {"_id": "c3", "name": "Lima", "size": 10}
    status, body = client.post("/v3/items/insert", {"collectionId": "cities", "items": [new]})
    assert status == 200, body
    status, body = client.post(
        "/v3/items/update", {"collectionId": "cities", "items": [{**new, "size": 11}]}
    )
    assert status == 200, body
    status, body = client.post("/v3/items/remove", {"collectionId": "cities", "itemIds": ["c3"]})
    assert status == 200, body
    assert ran["replica"] == []
    assert {"SELECT", "INSERT", "UPDATE", "DELETE"} <= set(ran["primary"])


def test_consistent_read_false_still_reads_the_replica(traced):
    client, ran = traced
    assert client.items("cities", consistentRead=False) == CITIES
    assert ran["primary"] == [] and ran["replica"]


def _dead_url(backend, tmp_path) -> str:
    """A replica nobody answers at."""
    return {
        "sqlite": f"sqlite:///{tmp_path}/no/such/folder/replica.sqlite3",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/test",
        "mariadb": "mysql+pymysql://root@127.0.0.1:1/test",
    }[backend]


def test_a_replica_that_is_down_leaves_reads_to_the_primary(
    app_config, database_url, cities, backend, tmp_path, caplog
):
    app, ran = _traced(app_config, f"{database_url}, {_dead_url(backend, tmp_path)}")
    client = Client(app)
    try:
        for _ in range(4):  # reads take turns: two of them try the dead replica first
            assert client.items("cities") == CITIES
        assert sum("read replica failed" in r.getMessage() for r in caplog.records) == 2
        assert len(ran["replica"]) >= 2  # the live one served its turns
        response = app.test_client().get("/readyz")
        assert (response.status_code, response.get_json()) == (
            200,
            {"status": "ready", "databases": 1, "replicas": 2, "replicasUnavailable": 1},
        )
    finally:
        for engine in [get_engine(app), *get_replicas(app)]:
            engine.dispose()


def test_readyz_counts_live_replicas(app_config, database_url, cities):
    app, _ = _traced(app_config, database_url)
    try:
        response = app.test_client().get("/readyz")
        assert (response.status_code, response.get_json()) == (
            200,
            {"status": "ready", "databases": 1, "replicas": 1},
        )
    finally:
        for engine in [get_engine(app), *get_replicas(app)]:
            engine.dispose()


def test_replica_urls_are_comma_separated_and_take_provider_forms():
    assert replica_urls(None) == []
    assert replica_urls(" , ") == []
    assert replica_urls("postgres://u@r1/db, mysql://u@r2/db") == [
        "postgresql+psycopg://u@r1/db",
        "mysql+pymysql://u@r2/db?charset=utf8mb4",
    ]
