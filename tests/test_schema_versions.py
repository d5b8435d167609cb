"""Schema changes made through one connector process are seen by the others at
once (not after the catalog's TTL), on every backend.

Two apps on one database stand for two gunicorn workers or machines: each has
its own cached catalog, as each worker does.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import Client

from connector import create_app, db, metadata

COLLECTION = {"id": "notes", "fields": [{"key": "title", "type": "TEXT"}]}


@pytest.fixture
def two_workers(app_config):
    config = {**app_config, "CONNECTOR_SCHEMA_TTL": 3600}  # the TTL cannot be what helps
    first, second = create_app(config), create_app(config)
    yield Client(first), Client(second)
    for application in (first, second):
        application.extensions["connector.engine"].dispose()


def fields_of(client, collection_id):
    status, body = client.post("/v3/collections/get", {"collectionIds": [collection_id]})
    assert status == 200, body
    return [f["key"] for f in body["collections"][0]["fields"]]


def test_a_field_added_and_removed_by_one_worker_is_seen_by_the_other(two_workers):
    one, other = two_workers
    assert one.post("/v3/collections/create", {"collection": COLLECTION})[0] == 200
    status, body = other.post(
        "/v3/items/insert", {"collectionId": "notes", "items": [{"_id": "n1", "title": "T"}]}
    )
    assert status == 200 and "item" in body["results"][0], body  # other cached notes now
    assert "title" in fields_of(other, "notes")

    added = {**COLLECTION, "fields": [*COLLECTION["fields"], {"key": "body", "type": "TEXT"}]}
    assert one.post("/v3/collections/update", {"collection": added})[0] == 200
    assert "body" in fields_of(other, "notes")
    assert other.items("notes") == [
        {"_id": "n1", "title": "T", "body": None, **_system(other.items("notes")[0])}
    ]

    removed = {**COLLECTION, "fields": [{"key": "body", "type": "TEXT"}]}
    assert one.post("/v3/collections/update", {"collection": removed})[0] == 200
    assert "title" not in fields_of(other, "notes")
    (item,) = other.items("notes")
    assert "title" not in item and item["body"] is None
    # A write through the other worker uses the new schema, not its old cache.
    status, body = other.post(
        "/v3/items/update", {"collectionId": "notes", "items": [{"_id": "n1", "body": "B"}]}
    )
    assert status == 200 and body["results"][0]["item"]["body"] == "B", body


def test_permissions_changed_by_one_worker_apply_in_the_other(two_workers):
    one, other = two_workers
    assert one.post("/v3/collections/create", {"collection": COLLECTION})[0] == 200
    assert other.post("/v3/collections/get", {"collectionIds": ["notes"]})[0] == 200
    changed = {
        **COLLECTION,
        "permissions": {
            "insert": "ANYONE",
            "update": "ADMIN",
            "remove": "ADMIN",
            "read": "SITE_MEMBER",
        },
    }
    assert one.post("/v3/collections/update", {"collection": changed})[0] == 200
    status, body = other.post("/v3/collections/get", {"collectionIds": ["notes"]})
    assert body["collections"][0]["permissions"]["read"] == "SITE_MEMBER", body


def _system(item):
    return {k: v for k, v in item.items() if k in ("_createdDate", "_updatedDate", "_owner")}


def test_a_collection_taken_before_another_thread_saw_the_change_is_not_used(two_workers):
    """Threads of one worker share its catalog: one may take a collection from the
    cache just before another sees the new version and clears it. The first must
    then not run against what it took."""
    one, other = two_workers
    assert one.post("/v3/collections/create", {"collection": COLLECTION})[0] == 200
    assert other.items("notes") == []
    catalog = other.app.extensions["connector.catalog"]
    engine = other.app.extensions["connector.engine"]
    taken = catalog.get("notes")  # the first thread

    added = {**COLLECTION, "fields": [*COLLECTION["fields"], {"key": "body", "type": "TEXT"}]}
    assert one.post("/v3/collections/update", {"collection": added})[0] == 200
    with engine.connect() as conn:  # the second thread's request sees the change
        assert catalog.check_version(conn, catalog.get("notes")) is True
    assert "body" in catalog.get("notes").fields  # and fills the cache anew

    with engine.connect() as conn:  # the first thread's request, after that
        assert catalog.check_version(conn, taken) is True
        assert catalog.check_version(conn, catalog.get("notes")) is False
    assert "body" not in taken.fields and "body" in catalog.get("notes").fields


def test_a_pooled_postgresql_connection_reads_the_version_in_its_pre_ping(two_workers, backend):
    """On PostgreSQL the checkout's pre-ping is the version read (one round trip
    fewer per request); elsewhere the request reads it as its first statement.
    Either way a schema change by the other worker is seen on the next request."""
    one, other = two_workers
    assert one.post("/v3/collections/create", {"collection": COLLECTION})[0] == 200
    assert other.items("notes") == []  # the pool now holds a connection that has pinged
    engine = other.app.extensions["connector.engine"]
    version_read = metadata.schema_version_sql(engine.dialect)
    reads = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement == version_read:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert other.items("notes") == []
        added = {**COLLECTION, "fields": [*COLLECTION["fields"], {"key": "body", "type": "TEXT"}]}
        assert one.post("/v3/collections/update", {"collection": added})[0] == 200
        assert "body" in fields_of(other, "notes")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(reads) == (0 if backend == "postgresql" else 2), reads


def test_a_postgresql_pre_ping_without_the_settings_table_is_a_plain_ping(database_url, backend):
    """A database the migrations have not reached yet (a new one, or a replica
    that has not replayed them) still pings, and the request reads no version
    from the ping."""
    if backend != "postgresql":
        pytest.skip("the version-reading pre-ping is PostgreSQL's")
    setup = sa.create_engine(database_url)
    with setup.begin() as conn:
        conn.execute(sa.text('CREATE SCHEMA "unmigrated"'))
    engine = db.create_engine(database_url, schema="unmigrated")
    try:
        for _ in range(2):  # the second checkout is the one that pings
            with engine.connect() as conn:
                assert db.pinged_version(conn) is db.NOT_PINGED
                assert conn.execute(sa.select(1)).scalar() == 1
    finally:
        engine.dispose()
        with setup.begin() as conn:
            conn.execute(sa.text('DROP SCHEMA "unmigrated" CASCADE'))
        setup.dispose()


def test_a_schema_that_keeps_changing_under_a_request_is_a_503(two_workers, monkeypatch):
    one, _ = two_workers
    assert one.post("/v3/collections/create", {"collection": COLLECTION})[0] == 200
    catalog = one.app.extensions["connector.catalog"]
    checks = []
    monkeypatch.setattr(catalog, "check_version", lambda conn, c=None: checks.append(c) or True)
    status, body = one.query("notes")
    assert (status, body["errorCode"]) == (503, "DATABASE_UNAVAILABLE"), body
    assert "kept changing" in body["errorMessage"]
    assert len(checks) == 3  # SCHEMA_ATTEMPTS runs, none of which went on to the query
