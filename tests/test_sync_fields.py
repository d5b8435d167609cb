"""What a collection can hold: fields without a column, wrong types, rows the
table refuses, case-distinct ids, an overflow column on a typed table; and
refusals: reserved ids, unknown routes, bad JSON bodies."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest import TEXT_ID, create_table
from sync_client import MISSING, SyncClient, assert_error, assert_rev, people, row_of


@pytest.fixture
def sync(app):
    return SyncClient(app)


def test_a_field_without_a_column_is_forbidden_without_overflow(engine, sync):
    table = people(engine, [{"_id": "p1", "name": "Ann", "age": 30, "active": True}])
    doc = sync.doc("people", "p1")
    assert doc == {"_id": "p1", "_rev": doc["_rev"], "name": "Ann", "age": 30, "active": True}
    assert_rev(doc["_rev"], 1)
    status, body = sync.put("people/p1", {"_rev": doc["_rev"], "name": "Ann", "nick": "A"})
    assert_error(status, body, 403, "forbidden")
    assert row_of(engine, table, "p1") == {"_id": "p1", "name": "Ann", "age": 30, "active": True}
    assert sync.doc("people", "p1") == doc
    status, body = sync.put("people/p2", {"name": "Bob", "nick": "B"})
    assert_error(status, body, 403, "forbidden")
    assert row_of(engine, table, "p2") is None
    assert sync.get("people/p2") == (404, MISSING)


def test_a_wrong_typed_value_is_bad_request(engine, sync):
    table = people(engine)
    status, body = sync.put("people/p1", {"name": "Bob", "age": "old"})
    assert_error(status, body, 400, "bad_request")
    assert row_of(engine, table, "p1") is None
    assert sync.get("people/p1") == (404, MISSING)
    rev = sync.save("people", "p1", {"name": "Bob", "age": 41, "active": False})
    assert row_of(engine, table, "p1") == {"_id": "p1", "name": "Bob", "age": 41, "active": False}
    status, body = sync.put("people/p1", {"_rev": rev, "name": "Bob", "active": "yes"})
    assert_error(status, body, 400, "bad_request")
    assert row_of(engine, table, "p1")["active"] is False


def test_a_row_the_table_refuses_is_forbidden_for_that_doc_only(engine, sync):
    table = create_table(
        engine,
        "strict",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    sync.get("strict/")
    refused = {"id": "bad", "error": "forbidden", "status": 403}
    # Next to a good one, or alone: the same per-document refusal.
    results = sync.bulk("strict", [{"_id": "bad"}, {"_id": "good", "name": "G"}])
    assert {k: results[0].get(k) for k in refused} == refused, results
    assert isinstance(results[0]["reason"], str), results
    assert_rev(results[1]["rev"], 1)
    assert row_of(engine, table, "bad") is None
    assert row_of(engine, table, "good") == {"_id": "good", "name": "G"}
    (result,) = sync.bulk("strict", [{"_id": "bad"}])
    assert {k: result.get(k) for k in refused} == refused, result
    assert_error(*sync.put("strict/bad", {}), 403, "forbidden")
    assert sync.get("strict/bad") == (404, MISSING)


def test_ids_differing_only_in_case_are_distinct_documents(sync):
    sync.create_db("notes")
    upper = sync.save("notes", "Doc", {"v": "upper"})
    lower = sync.save("notes", "doc", {"v": "lower"})
    assert sync.doc("notes", "Doc") == {"_id": "Doc", "_rev": upper, "v": "upper"}
    assert sync.doc("notes", "doc") == {"_id": "doc", "_rev": lower, "v": "lower"}
    assert sync.info("notes")["doc_count"] == 2


def test_a_typed_table_with_an_overflow_column(engine, sync):
    table = create_table(
        engine,
        "mixed",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("overflow", sa.JSON),
    )
    rev = sync.save("mixed", "m1", {"name": "N", "extra": 1, "more": {"a": [1]}})
    found = row_of(engine, table, "m1")
    assert found["name"] == "N"
    overflow = found["overflow"]
    assert (json.loads(overflow) if isinstance(overflow, str) else overflow) == {
        "extra": 1,
        "more": {"a": [1]},
    }
    assert sync.doc("mixed", "m1") == {
        "_id": "m1",
        "_rev": rev,
        "name": "N",
        "extra": 1,
        "more": {"a": [1]},
    }
    status, body = sync.put("mixed/m2", {"name": 5})
    assert_error(status, body, 400, "bad_request")


# --- refusals --------------------------------------------------------------------


def test_ids_starting_with_an_underscore_are_bad_request(sync):
    sync.create_db("notes")
    assert_error(*sync.put("notes/_secret", {"a": 1}), 400, "bad_request")
    assert_error(*sync.post("notes/", {"_id": "_secret", "a": 1}), 400, "bad_request")
    (result,) = sync.bulk("notes", [{"_id": "_secret", "a": 1}])
    assert result["id"] == "_secret" and result["error"] == "bad_request", result
    assert result["status"] == 400, result
    assert sync.info("notes")["doc_count"] == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "notes/_nonsense"),
        ("POST", "notes/_nonsense"),
        ("PUT", "notes/_nonsense"),
        ("GET", "notes/_design/x/_view/y"),
        ("DELETE", "notes/_changes"),
    ],
)
def test_unknown_routes_answer_in_the_sync_error_shape(sync, method, path):
    sync.create_db("notes")
    response = sync.open(method, path, data="{}")
    assert response.status_code in (400, 404, 405), response.data
    body = response.get_json()
    assert set(body) == {"error", "reason"}, body
    assert body["error"] in ("bad_request", "not_found", "method_not_allowed"), body


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("PUT", "notes/n1", "{not json"),
        ("PUT", "notes/n1", "[1, 2]"),
        ("POST", "notes/", "nope"),
        ("POST", "notes/_bulk_docs", '{"docs": [1, 2'),
        ("POST", "notes/_bulk_docs", '{"docs": "x"}'),
        ("POST", "notes/_bulk_docs", '{"docs": [], "new_edits": "no"}'),
        ("POST", "notes/_bulk_get", '{"docs": 5}'),
        ("POST", "notes/_revs_diff", "[]"),
        ("POST", "notes/_all_docs", '{"keys": "n1"}'),
        ("PUT", "notes/_local/cp", "{bad"),
    ],
)
def test_bad_json_bodies_are_bad_request(sync, method, path, data):
    sync.create_db("notes")
    response = sync.open(method, path, data=data)
    assert_error(response.status_code, response.get_json(), 400, "bad_request")
