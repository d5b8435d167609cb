"""Which tables are collections, declared field types, and schema refresh."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import APP_ID, TEXT_ID, Client, create_table

from connector import create_app
from connector.db import create_engine
from connector.metadata import declare_field


def _declare(app, collection_id, field_key, wix_type):
    with app.extensions["connector.engine"].begin() as conn:
        declare_field(conn, collection_id=collection_id, field_key=field_key, wix_type=wix_type)
    app.extensions["connector.catalog"].forget(collection_id)


def test_array_field_declared_in_metadata(engine, app, wix):
    create_table(
        engine,
        "posts",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("tags", sa.JSON(none_as_null=True)),
        rows=[
            {"_id": "a", "tags": ["x", "y"]},
            {"_id": "b", "tags": ["y", "z", 1]},
            {"_id": "c", "tags": []},
            {"_id": "d", "tags": None},
        ],
    )
    _declare(app, "posts", "tags", "ARRAY")
    assert wix.ids("posts", {"tags": {"$hasSome": ["z", "x"]}}) == ["a", "b"]
    assert wix.ids("posts", {"tags": {"$hasAll": ["y", 1]}}) == ["b"]
    assert wix.ids("posts", {"tags": {"$isEmpty": True}}) == ["c", "d"]
    status, body = wix.post(
        "/v3/items/query-distinct-values",
        {"collectionId": "posts", "fieldName": "tags", "returnTotalCount": True},
    )
    assert status == 200, body
    # Arrays are unwound: numbers first, then strings, each value once.
    assert body == {
        "distinctValues": [1, "x", "y", "z"],
        "pagingMetadata": {"count": 4, "offset": 0, "total": 4},
    }
    status, body = wix.post(
        "/v3/items/insert", {"collectionId": "posts", "items": [{"_id": "e", "tags": "x"}]}
    )
    assert body["results"][0]["error"]["errorCode"] == "VALIDATION_ERROR"
    assert body["results"][0]["error"]["data"]["violations"][0]["fieldPath"] == "tags"


def test_url_declared_on_a_text_column_stays_text(engine, app, wix):
    create_table(
        engine,
        "links",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("href", sa.String(200)),
        rows=[{"_id": "a", "href": "https://example.com/A"}],
    )
    _declare(app, "links", "href", "URL")
    assert wix.ids("links", {"href": {"$startsWith": "HTTPS://"}}) == ["a"]
    assert wix.items("links") == [{"_id": "a", "href": "https://example.com/A"}]


def test_an_incompatible_declaration_is_ignored(engine, app, wix):
    create_table(
        engine,
        "nums",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.Integer),
        rows=[{"_id": "a", "n": 5}],
    )
    _declare(app, "nums", "n", "ARRAY")  # a number column cannot hold an array
    assert wix.ids("nums", {"n": {"$gt": 4}}) == ["a"]


def test_dropped_column_is_noticed_on_the_next_request(engine, wix, backend):
    create_table(
        engine,
        "shrinking",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("a", sa.Integer),
        sa.Column("b", sa.Integer),
        rows=[{"_id": "x", "a": 1, "b": 2}],
    )
    assert wix.items("shrinking") == [{"_id": "x", "a": 1, "b": 2}]
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE shrinking DROP COLUMN b")
    # The cached schema still names b; the database's refusal triggers a refresh.
    assert wix.items("shrinking") == [{"_id": "x", "a": 1}]


def test_dropped_table_is_not_found(engine, wix):
    create_table(engine, "gone", sa.Column("_id", TEXT_ID, primary_key=True))
    assert wix.items("gone") == []
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE gone")
    assert wix.query("gone") == (
        404,
        {
            "errorCode": "COLLECTION_NOT_FOUND",
            "errorMessage": "The requested collection was not found.",
            "data": {"collectionId": "gone"},
        },
    )


def test_collection_ids_are_case_sensitive(engine, wix):
    create_table(engine, "Cities", sa.Column("_id", TEXT_ID, primary_key=True), rows=[{"_id": "a"}])
    assert wix.ids("Cities") == ["a"]
    status, body = wix.query("cities")
    assert (status, body["errorCode"]) == (404, "COLLECTION_NOT_FOUND")


@pytest.mark.parametrize(
    "dead_url",
    [
        "sqlite:////nonexistent-directory/connector.sqlite3",
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
        "mysql+pymysql://root@127.0.0.1:1/nowhere",
    ],
    ids=["sqlite", "postgresql", "mariadb"],
)
def test_unreachable_database_is_a_503(public_pem, rsa_key, dead_url):
    app = create_app(
        {
            "DATABASE_URL": "sqlite:///:memory:",
            "WIX_APP_ID": APP_ID,
            "WIX_PUBLIC_KEY": public_pem,
        }
    )
    # Start on a working database, then lose it: the app must answer, not crash.
    app.extensions["connector.engine"].dispose()
    app.extensions["connector.catalog"].engine = create_engine(dead_url)
    status, body = Client(app, rsa_key).query("anything")
    assert status == 503
    assert body == {
        "errorCode": "DATABASE_UNAVAILABLE",
        "errorMessage": "The database is unavailable; try again shortly.",
        "data": {},
    }
