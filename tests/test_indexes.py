"""POST /v3/indexes/list, /create and /remove.

Every test runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import create_table

PRIMARY_KEY = {
    "name": "_id_",
    "fields": [{"path": "_id", "order": "ASC"}],
    "unique": True,
    "caseInsensitive": False,
    "status": "ACTIVE",
}


def index(name, *fields, unique=False):
    """An ACTIVE index as list and create answer it; ``fields`` are (path, order)."""
    return {
        "name": name,
        "fields": [{"path": path, "order": order} for path, order in fields],
        "unique": unique,
        "caseInsensitive": False,
        "status": "ACTIVE",
    }


# --- helpers -----------------------------------------------------------------


def create_collection(wix, collection_id="things"):
    """A collection with TEXT fields ``name`` and ``code`` and a NUMBER ``price``."""
    request = {
        "collection": {
            "id": collection_id,
            "fields": [
                {"key": "name", "type": "TEXT"},
                {"key": "price", "type": "NUMBER"},
                {"key": "code", "type": "TEXT"},
            ],
        }
    }
    status, body = wix.post("/v3/collections/create", request)
    assert status == 200, body


def list_indexes(wix, collection_id="things"):
    status, body = wix.post("/v3/indexes/list", {"collectionId": collection_id})
    assert status == 200, body
    assert list(body) == ["indexes"], body
    return body["indexes"]


def create_index(wix, spec, collection_id="things"):
    """POST /v3/indexes/create; returns the answered index (asserts 200)."""
    status, body = wix.post("/v3/indexes/create", {"collectionId": collection_id, "index": spec})
    assert status == 200, body
    assert list(body) == ["index"], body
    return body["index"]


def assert_failed(answer, spec):
    """A FAILED index answer for the request's index ``spec``."""
    assert answer["status"] == "FAILED", answer
    assert answer["name"] == spec["name"], answer
    assert [f["path"] for f in answer["fields"]] == [f["path"] for f in spec["fields"]], answer
    failure = answer["failure"]
    assert isinstance(failure["code"], str) and failure["code"], answer
    assert isinstance(failure["description"], str) and failure["description"], answer


def insert(wix, items, collection_id="things"):
    status, body = wix.post("/v3/items/insert", {"collectionId": collection_id, "items": items})
    assert status == 200, body
    assert len(body["results"]) == len(items), body
    return body["results"]


def assert_validation_error(status, body, field_path, rejected_value):
    assert status == 400, body
    assert body["errorCode"] == "VALIDATION_ERROR", body
    violations = body["data"]["violations"]
    assert [v["fieldPath"] for v in violations] == [field_path], body
    assert violations[0]["rejectedValue"] == rejected_value, body


# --- list and create -------------------------------------------------------------


def test_a_new_collection_lists_only_its_primary_key(wix):
    create_collection(wix)
    assert list_indexes(wix) == [PRIMARY_KEY]


def test_created_indexes_are_listed_after_the_primary_key_by_name(wix):
    create_collection(wix)
    requests = [
        (
            {"name": "price_desc", "fields": [{"path": "price", "order": "DESC"}]},
            index("price_desc", ("price", "DESC")),
        ),
        ({"name": "by_name", "fields": [{"path": "name"}]}, index("by_name", ("name", "ASC"))),
        (
            {"name": "unique_code", "fields": [{"path": "code", "order": "ASC"}], "unique": True},
            index("unique_code", ("code", "ASC"), unique=True),
        ),
        (
            {
                "name": "price_asc",
                "fields": [{"path": "price", "order": "ASC"}],
                "unique": False,
                "caseInsensitive": False,
            },
            index("price_asc", ("price", "ASC")),
        ),
        (
            {
                "name": "name_price",
                "fields": [{"path": "name"}, {"path": "price", "order": "DESC"}],
            },
            index("name_price", ("name", "ASC"), ("price", "DESC")),
        ),
    ]
    for spec, expected in requests:
        assert create_index(wix, spec) == expected
    assert list_indexes(wix) == [
        PRIMARY_KEY,
        index("by_name", ("name", "ASC")),
        index("name_price", ("name", "ASC"), ("price", "DESC")),
        index("price_asc", ("price", "ASC")),
        index("price_desc", ("price", "DESC")),
        index("unique_code", ("code", "ASC"), unique=True),
    ]


def test_a_unique_index_refuses_a_duplicate_item_only(wix):
    create_collection(wix)
    spec = {"name": "unique_code", "fields": [{"path": "code"}], "unique": True}
    assert create_index(wix, spec) == index("unique_code", ("code", "ASC"), unique=True)
    results = insert(wix, [{"_id": "x1", "code": "A"}])
    assert list(results[0]) == ["item"], results
    results = insert(
        wix,
        [
            {"_id": "x2", "code": "A"},  # duplicate code
            {"_id": "x3", "code": "B"},
            {"_id": "x4", "code": None},  # nulls are not duplicates of each other
            {"_id": "x5", "code": None},
        ],
    )
    assert list(results[0]) == ["error"], results
    error = results[0]["error"]
    assert isinstance(error["errorCode"], str) and error["errorCode"], results
    assert [list(r) for r in results[1:]] == [["item"], ["item"], ["item"]], results
    assert wix.ids("things") == ["x1", "x3", "x4", "x5"]


def test_a_unique_index_over_duplicate_data_fails(wix):
    create_collection(wix)
    results = insert(wix, [{"_id": "a", "code": "A"}, {"_id": "b", "code": "A"}])
    assert [list(r) for r in results] == [["item"], ["item"]], results
    spec = {"name": "unique_code", "fields": [{"path": "code"}], "unique": True}
    assert_failed(create_index(wix, spec), spec)
    assert list_indexes(wix) == [PRIMARY_KEY]
    # and nothing half-made stops a later insert of the same value
    results = insert(wix, [{"_id": "c", "code": "A"}])
    assert list(results[0]) == ["item"], results


def test_a_duplicate_index_name_fails(wix):
    create_collection(wix)
    assert create_index(wix, {"name": "ix", "fields": [{"path": "name"}]}) == index(
        "ix", ("name", "ASC")
    )
    spec = {"name": "ix", "fields": [{"path": "price"}]}
    assert_failed(create_index(wix, spec), spec)
    assert list_indexes(wix) == [PRIMARY_KEY, index("ix", ("name", "ASC"))]


def test_an_index_named_like_the_primary_key_fails(wix):
    create_collection(wix)
    spec = {"name": "_id_", "fields": [{"path": "name"}]}
    assert_failed(create_index(wix, spec), spec)
    assert list_indexes(wix) == [PRIMARY_KEY]


def test_an_index_on_an_unknown_field_fails(wix):
    create_collection(wix)
    spec = {"name": "ix_nope", "fields": [{"path": "name"}, {"path": "nope"}]}
    assert_failed(create_index(wix, spec), spec)
    assert list_indexes(wix) == [PRIMARY_KEY]


# --- remove ------------------------------------------------------------------------


def test_remove_an_index(wix):
    create_collection(wix)
    create_index(wix, {"name": "by_name", "fields": [{"path": "name"}]})
    create_index(wix, {"name": "by_price", "fields": [{"path": "price", "order": "DESC"}]})
    status, body = wix.post(
        "/v3/indexes/remove", {"collectionId": "things", "indexName": "by_name"}
    )
    assert (status, body) == (200, {})
    assert list_indexes(wix) == [PRIMARY_KEY, index("by_price", ("price", "DESC"))]
    # the name is free again
    assert create_index(wix, {"name": "by_name", "fields": [{"path": "code"}]}) == index(
        "by_name", ("code", "ASC")
    )


def test_a_removed_unique_index_allows_duplicates_again(wix):
    create_collection(wix)
    create_index(wix, {"name": "unique_code", "fields": [{"path": "code"}], "unique": True})
    status, body = wix.post(
        "/v3/indexes/remove", {"collectionId": "things", "indexName": "unique_code"}
    )
    assert (status, body) == (200, {})
    results = insert(wix, [{"_id": "a", "code": "A"}, {"_id": "b", "code": "A"}])
    assert [list(r) for r in results] == [["item"], ["item"]], results


@pytest.mark.parametrize("name", ["nope", "_id_"])
def test_remove_an_unknown_index_or_the_primary_key(wix, name):
    create_collection(wix)
    create_index(wix, {"name": "by_name", "fields": [{"path": "name"}]})
    status, body = wix.post("/v3/indexes/remove", {"collectionId": "things", "indexName": name})
    assert_validation_error(status, body, "indexName", name)
    assert list_indexes(wix) == [PRIMARY_KEY, index("by_name", ("name", "ASC"))]


# --- indexes made by other tools -------------------------------------------------


def test_indexes_made_by_another_tool_are_listed_with_field_keys(wix, engine):
    create_table(
        engine,
        "legacy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(100)),
        sa.Column("age", sa.Integer),
        sa.Column("score", sa.Double),
        sa.Index("ix_legacy_email", "email", unique=True),
        sa.Index("ix_legacy_age_score", "age", "score"),
        sa.Index("ix_legacy_id_email", "id", "email"),
    )
    assert list_indexes(wix, "legacy") == [
        PRIMARY_KEY,
        index("ix_legacy_age_score", ("age", "ASC"), ("score", "ASC")),
        index("ix_legacy_email", ("email", "ASC"), unique=True),
        index("ix_legacy_id_email", ("_id", "ASC"), ("email", "ASC")),
    ]
    # and they can be removed like the connector's own
    status, body = wix.post(
        "/v3/indexes/remove", {"collectionId": "legacy", "indexName": "ix_legacy_age_score"}
    )
    assert (status, body) == (200, {})
    assert [i["name"] for i in list_indexes(wix, "legacy")] == [
        "_id_",
        "ix_legacy_email",
        "ix_legacy_id_email",
    ]
    assert sorted(i["name"] for i in sa.inspect(engine).get_indexes("legacy")) == [
        "ix_legacy_email",
        "ix_legacy_id_email",
    ]


# --- unknown collection -----------------------------------------------------------


@pytest.mark.parametrize(
    "path, request_",
    [
        ("/v3/indexes/list", {"collectionId": "nope"}),
        (
            "/v3/indexes/create",
            {"collectionId": "nope", "index": {"name": "ix", "fields": [{"path": "a"}]}},
        ),
        ("/v3/indexes/remove", {"collectionId": "nope", "indexName": "ix"}),
    ],
)
def test_unknown_collection(wix, path, request_):
    status, body = wix.post(path, request_)
    assert status == 404, body
    assert body["errorCode"] == "COLLECTION_NOT_FOUND", body
    assert body["data"] == {"collectionId": "nope"}, body


# --- found in review ---------------------------------------------------------------


def test_case_insensitive_indexes(wix, backend):
    wix.post(
        "/v3/collections/create",
        {"collection": {"id": "names", "fields": [{"key": "name", "type": "TEXT"}]}},
    )
    status, body = wix.post(
        "/v3/indexes/create",
        {
            "collectionId": "names",
            "index": {"name": "by_name_ci", "fields": [{"path": "name"}], "caseInsensitive": True},
        },
    )
    if backend != "postgresql":
        assert body["index"]["status"] == "FAILED"
        assert body["index"]["failure"]["code"] == "NOT_SUPPORTED"
        return
    assert body["index"]["status"] == "ACTIVE"
    status, body = wix.post("/v3/indexes/list", {"collectionId": "names"})
    assert body["indexes"][1] == {
        "name": "by_name_ci",
        "fields": [{"path": "name", "order": "ASC"}],
        "unique": False,
        "caseInsensitive": True,
        "status": "ACTIVE",
    }
    assert wix.post("/v3/indexes/remove", {"collectionId": "names", "indexName": "by_name_ci"}) == (
        200,
        {},
    )


def test_index_names_too_long_and_the_index_limit(app_config, backend):
    from conftest import Client

    from connector import create_app

    app = create_app({**app_config, "CONNECTOR_MAX_INDEXES": 1})
    try:
        client = Client(app)
        client.post(
            "/v3/collections/create",
            {
                "collection": {
                    "id": "limited",
                    "fields": [{"key": "a", "type": "NUMBER"}, {"key": "b", "type": "NUMBER"}],
                }
            },
        )
        status, body = client.post(
            "/v3/indexes/create",
            {"collectionId": "limited", "index": {"name": "i" * 300, "fields": [{"path": "a"}]}},
        )
        expected = "ACTIVE" if backend == "sqlite" else "FAILED"
        assert (status, body["index"]["status"]) == (200, expected)
        if backend == "sqlite":
            client.post("/v3/indexes/remove", {"collectionId": "limited", "indexName": "i" * 300})
        status, body = client.post(
            "/v3/indexes/create",
            {"collectionId": "limited", "index": {"name": "by_a", "fields": [{"path": "a"}]}},
        )
        assert body["index"]["status"] == "ACTIVE"
        status, body = client.post(
            "/v3/indexes/create",
            {"collectionId": "limited", "index": {"name": "by_b", "fields": [{"path": "b"}]}},
        )
        assert body["index"]["status"] == "FAILED"
        assert body["index"]["failure"]["code"] == "TOO_MANY_INDEXES"
    finally:
        app.extensions["connector.engine"].dispose()
