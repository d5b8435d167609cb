"""Schema changes that must keep what the caller did not ask to change, and
the PostgreSQL schema setting."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from conftest import TEXT_ID, Client, create_table

from connector import create_app


def test_retype_keeps_nullability_and_default(engine, wix):
    create_table(
        engine,
        "counters",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.String(20), nullable=False, server_default="0"),
        rows=[{"_id": "a", "n": "12"}],
    )
    status, body = wix.post(
        "/v3/collections/update",
        {
            "collection": {
                "id": "counters",
                "fields": [{"key": "_id", "type": "TEXT"}, {"key": "n", "type": "NUMBER"}],
            }
        },
    )
    assert status == 200, body
    assert [(f["key"], f["type"]) for f in body["collection"]["fields"]] == [
        ("_id", "TEXT"),
        ("n", "NUMBER"),
    ]
    column = {c["name"]: c for c in sa.inspect(engine).get_columns("counters")}["n"]
    assert column["nullable"] is False
    assert "0" in str(column["default"])
    # The default still fills the column when an item leaves it out.
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO counters (_id) VALUES ('b')")
    assert wix.items("counters") == [{"_id": "a", "n": 12.0}, {"_id": "b", "n": 0.0}]


def test_dropping_a_field_keeps_columns_the_connector_does_not_show(engine, wix, backend):
    blob = sa.LargeBinary()
    create_table(
        engine,
        "files",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(20)),
        sa.Column("data", blob),
        rows=[{"_id": "a", "name": "x", "data": b"\x00\x01"}],
    )
    status, body = wix.post(
        "/v3/collections/update",
        {"collection": {"id": "files", "fields": [{"key": "_id", "type": "TEXT"}]}},
    )
    assert status == 200, body
    assert [f["key"] for f in body["collection"]["fields"]] == ["_id"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT data FROM files").scalar() == b"\x00\x01"


@pytest.fixture
def other_schema(engine, backend):
    if backend != "postgresql":
        pytest.skip("DATABASE_SCHEMA is a PostgreSQL setting")
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE SCHEMA "shop"')
        conn.exec_driver_sql("CREATE TABLE shop.products (_id TEXT PRIMARY KEY, name TEXT)")
        conn.exec_driver_sql("INSERT INTO shop.products VALUES ('p1', 'lamp')")
        conn.exec_driver_sql("CREATE TABLE public.elsewhere (_id TEXT PRIMARY KEY)")
    yield "shop"
    with engine.begin() as conn:
        conn.exec_driver_sql('DROP SCHEMA "shop" CASCADE')


def test_collections_come_from_the_configured_schema(other_schema, app_config, engine, rsa_key):
    app = create_app({**app_config, "DATABASE_SCHEMA": other_schema})
    try:
        client = Client(app, rsa_key)
        status, body = client.post("/v3/collections/get", {})
        assert [c["id"] for c in body["collections"]] == ["products"]
        assert client.items("products") == [{"_id": "p1", "name": "lamp"}]
        status, body = client.post(
            "/v3/collections/create",
            {"collection": {"id": "orders", "fields": [{"key": "qty", "type": "NUMBER"}]}},
        )
        assert status == 200, body
    finally:
        app.extensions["connector.engine"].dispose()
    inspector = sa.inspect(engine)
    assert "orders" in inspector.get_table_names(schema="shop")
    assert "_connector_collections" in inspector.get_table_names(schema="shop")
    assert "orders" not in inspector.get_table_names(schema="public")


def test_a_default_expression_blocks_a_retype(engine, wix, backend):
    create_table(
        engine,
        "stamped",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("code", sa.String(30), server_default=sa.func.lower("X")),
    )
    status, body = wix.post(
        "/v3/collections/update",
        {"collection": {"id": "stamped", "fields": [{"key": "code", "type": "NUMBER"}]}},
    )
    assert status == 400
    assert body["errorCode"] == "COLLECTION_CHANGE_NOT_SUPPORTED"
    assert [e["fieldKey"] for e in body["data"]["errors"]] == ["code"]
    if backend == "mariadb":  # SQLAlchemy does not reflect MariaDB's expression defaults
        with engine.connect() as conn:
            default = conn.exec_driver_sql(
                "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE "
                "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'stamped' AND COLUMN_NAME = 'code'"
            ).scalar()
    else:
        default = {c["name"]: c for c in sa.inspect(engine).get_columns("stamped")}["code"][
            "default"
        ]
    # Each database spells the kept default its own way.
    assert re.fullmatch(r"(lower|lcase)\('x'(::text)?\)", str(default).lower())
