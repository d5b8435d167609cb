"""insert, update, remove and truncate: per-item results, server-set dates,
complete replacement, per-item errors that leave the rest of the request alone.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa
from conftest import DATETIME, TEXT_ID, create_table, iso

from connector.writes import items as items_writes

UTC = dt.UTC
DATE_WIRE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

OLD_CREATED = dt.datetime(2020, 1, 1, 10, 11, 12, 123000)
OLD_UPDATED = dt.datetime(2020, 2, 2, 13, 14, 15, 456000)


# --- helpers ---------------------------------------------------------------


def people(engine, rows=(), name="people"):
    """A collection with every system field and a few typed columns."""
    return create_table(
        engine,
        name,
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("age", sa.Integer),
        sa.Column("active", sa.Boolean),
        sa.Column("_owner", sa.String(64)),
        sa.Column("_createdDate", DATETIME),
        sa.Column("_updatedDate", DATETIME),
        rows=rows,
    )


def person(_id, name, age=None, active=None, owner="owner-1"):
    """A stored row of ``people`` with fixed old dates."""
    return {
        "_id": _id,
        "name": name,
        "age": age,
        "active": active,
        "_owner": owner,
        "_createdDate": OLD_CREATED,
        "_updatedDate": OLD_UPDATED,
    }


def db_rows(engine, table):
    """The table's rows as dicts keyed by primary key value."""
    key = next(iter(table.primary_key.columns))
    with engine.connect() as conn:
        result = conn.execute(sa.select(table).order_by(key))
        return {row._mapping[key.name]: dict(row._mapping) for row in result}


def wire_date(value: dt.datetime) -> dict:
    """The wire form of a datetime read back from the database (naive = UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return iso(value)


def parse_date(value) -> dt.datetime:
    """A ``{"$date": ...}`` value with exactly 3 decimals and Z, as an aware datetime."""
    assert isinstance(value, dict) and set(value) == {"$date"}, value
    text = value["$date"]
    assert DATE_WIRE.match(text), text
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def now():
    return dt.datetime.now(UTC)


def assert_recent(value, before, after, slack=dt.timedelta(seconds=3)):
    moment = parse_date(value)
    assert before - slack <= moment <= after + slack, (value, before, after)


def insert(client, collection_id, items):
    return client.post("/v3/items/insert", {"collectionId": collection_id, "items": items})


def update(client, collection_id, items):
    return client.post("/v3/items/update", {"collectionId": collection_id, "items": items})


def remove(client, collection_id, item_ids):
    return client.post("/v3/items/remove", {"collectionId": collection_id, "itemIds": item_ids})


def results_of(status, body):
    assert status == 200, body
    assert set(body) == {"results"}, body
    return body["results"]


def stored(client, collection_id, item_id):
    """The item as a query returns it (asserts it exists)."""
    items = client.items(collection_id, {"filter": {"_id": item_id}})
    assert len(items) == 1, items
    return items[0]


def assert_item_error(result, code, data):
    assert set(result) == {"error"}, result
    error = result["error"]
    assert set(error) == {"errorCode", "errorMessage", "data"}, error
    assert error["errorCode"] == code
    assert isinstance(error["errorMessage"], str) and error["errorMessage"]
    assert error["data"] == data


def assert_item_violation(result, field_path, rejected_value):
    assert set(result) == {"error"}, result
    error = result["error"]
    assert set(error) == {"errorCode", "errorMessage", "data"}, error
    assert error["errorCode"] == "VALIDATION_ERROR"
    assert isinstance(error["errorMessage"], str)
    violations = error["data"]["violations"]
    assert [(v["fieldPath"], v["rejectedValue"]) for v in violations] == [
        (field_path, rejected_value)
    ], violations
    assert all(isinstance(v["message"], str) for v in violations)


def without_dates(item):
    return {k: v for k, v in item.items() if k not in ("_createdDate", "_updatedDate")}


# --- insert ----------------------------------------------------------------


def test_insert_with_id_returns_the_item_as_stored(engine, wix):
    table = people(engine)
    status, body = insert(
        wix, "people", [{"_id": "p1", "name": "Ada", "age": 36, "active": True, "_owner": "o-1"}]
    )
    [result] = results_of(status, body)
    item = result["item"]
    assert without_dates(item) == {
        "_id": "p1",
        "name": "Ada",
        "age": 36,
        "active": True,
        "_owner": "o-1",
    }
    assert set(item) == {"_id", "name", "age", "active", "_owner", "_createdDate", "_updatedDate"}
    assert stored(wix, "people", "p1") == item
    row = db_rows(engine, table)["p1"]
    assert (row["name"], row["age"], row["active"], row["_owner"]) == ("Ada", 36, True, "o-1")


def test_insert_without_id_generates_a_uuid(engine, wix):
    table = people(engine)
    status, body = insert(
        wix,
        "people",
        [{"name": "Bo", "_owner": "o-1"}, {"name": "Cy", "age": 3, "_owner": "o-1"}],
    )
    results = results_of(status, body)
    assert [set(r) for r in results] == [{"item"}, {"item"}]
    ids = [r["item"]["_id"] for r in results]
    for item_id in ids:
        assert isinstance(item_id, str) and len(item_id) == 36, item_id
        assert str(uuid.UUID(item_id)) == item_id.lower()
    assert ids[0] != ids[1]
    assert [r["item"]["name"] for r in results] == ["Bo", "Cy"]
    rows = db_rows(engine, table)
    assert {i: rows[i]["name"] for i in rows} == {ids[0]: "Bo", ids[1]: "Cy"}
    for result in results:
        assert stored(wix, "people", result["item"]["_id"]) == result["item"]


def test_insert_sets_created_and_updated_dates_on_the_server(engine, wix):
    table = people(engine)
    sent = {"$date": "2001-02-03T04:05:06.789Z"}
    before = now()
    status, body = insert(
        wix,
        "people",
        [
            {"_id": "p1", "name": "Ada", "_owner": "o", "_createdDate": sent, "_updatedDate": sent},
            {"_id": "p2", "name": "Bob", "_owner": "o"},
        ],
    )
    after = now()
    results = results_of(status, body)
    for result in results:
        item = result["item"]
        assert item["_createdDate"] == item["_updatedDate"]
        assert item["_createdDate"] != sent
        assert_recent(item["_createdDate"], before, after)
        assert stored(wix, "people", item["_id"]) == item
    rows = db_rows(engine, table)
    for result in results:
        item = result["item"]
        row = rows[item["_id"]]
        # Milliseconds survive the database round trip.
        assert wire_date(row["_createdDate"]) == item["_createdDate"]
        assert wire_date(row["_updatedDate"]) == item["_updatedDate"]


def test_insert_keeps_false_zero_and_empty_string(engine, wix):
    table = people(engine)
    status, body = insert(
        wix, "people", [{"_id": "p1", "name": "", "age": 0, "active": False, "_owner": ""}]
    )
    [result] = results_of(status, body)
    item = result["item"]
    assert without_dates(item) == {"_id": "p1", "name": "", "age": 0, "active": False, "_owner": ""}
    assert item["active"] is False
    assert type(item["age"]) is int
    again = stored(wix, "people", "p1")
    assert again == item
    assert again["active"] is False
    row = db_rows(engine, table)["p1"]
    assert row["name"] == "" and row["_owner"] == ""
    assert row["age"] == 0 and row["age"] is not None
    assert row["active"] is False


def test_seed_insert_example(engine, wix):
    create_table(
        engine,
        "cities",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("_owner", sa.String(64)),
        sa.Column("_createdDate", DATETIME),
        sa.Column("_updatedDate", DATETIME),
    )
    before = now()
    status, body = wix.post(
        "/v3/items/insert",
        {
            "collectionId": "cities",
            "items": [
                {
                    "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
                    "name": "New York",
                    "_owner": "facda016-24ef-4909-a90e-70687f17f658",
                }
            ],
        },
    )
    after = now()
    [result] = results_of(status, body)
    item = result["item"]
    assert_recent(item["_createdDate"], before, after)
    assert body == {
        "results": [
            {
                "item": {
                    "name": "New York",
                    "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
                    "_owner": "facda016-24ef-4909-a90e-70687f17f658",
                    "_createdDate": item["_createdDate"],
                    "_updatedDate": item["_createdDate"],
                }
            }
        ]
    }
    assert stored(wix, "cities", "c285e77c-a86b-4361-a55f-c6b934d70187") == item


def test_insert_of_an_existing_id_fails_for_that_item_only(engine, wix):
    table = people(engine, rows=[person("p1", "Old", 90)])
    status, body = insert(
        wix,
        "people",
        [
            {"_id": "p0", "name": "Zero", "_owner": "o"},
            {"_id": "p1", "name": "New", "age": 1, "_owner": "o"},
            {"_id": "p2", "name": "Two", "_owner": "o"},
        ],
    )
    results = results_of(status, body)
    assert [set(r) for r in results] == [{"item"}, {"error"}, {"item"}]
    assert_item_error(results[1], "ITEM_ALREADY_EXISTS", {"itemId": "p1"})
    assert [results[0]["item"]["_id"], results[2]["item"]["_id"]] == ["p0", "p2"]
    rows = db_rows(engine, table)
    assert {k: (r["name"], r["age"]) for k, r in rows.items()} == {
        "p0": ("Zero", None),
        "p1": ("Old", 90),
        "p2": ("Two", None),
    }
    assert rows["p1"]["_createdDate"] == OLD_CREATED
    assert rows["p1"]["_updatedDate"] == OLD_UPDATED


def test_insert_of_the_same_id_twice_in_one_request(engine, wix):
    table = people(engine)
    status, body = insert(
        wix,
        "people",
        [
            {"_id": "p1", "name": "First", "_owner": "o"},
            {"_id": "p1", "name": "Second", "_owner": "o"},
            {"_id": "p2", "name": "Other", "_owner": "o"},
        ],
    )
    results = results_of(status, body)
    assert without_dates(results[0]["item"])["name"] == "First"
    assert_item_error(results[1], "ITEM_ALREADY_EXISTS", {"itemId": "p1"})
    assert results[2]["item"]["_id"] == "p2"
    rows = db_rows(engine, table)
    assert {k: r["name"] for k, r in rows.items()} == {"p1": "First", "p2": "Other"}
    assert stored(wix, "people", "p1") == results[0]["item"]


@pytest.mark.parametrize(
    ("bad_field", "bad_value"),
    [("nickname", "Addie"), ("age", "old"), ("active", "yes please")],
    ids=["unknown-field", "text-for-number", "text-for-boolean"],
)
def test_insert_of_an_invalid_item_fails_for_that_item_only(engine, wix, bad_field, bad_value):
    table = people(engine)
    status, body = insert(
        wix,
        "people",
        [
            {"_id": "p1", "name": "Ada", "_owner": "o"},
            {"_id": "p2", "name": "Bad", "_owner": "o", bad_field: bad_value},
            {"_id": "p3", "name": "Cy", "_owner": "o"},
        ],
    )
    results = results_of(status, body)
    assert [set(r) for r in results] == [{"item"}, {"error"}, {"item"}]
    assert_item_violation(results[1], bad_field, bad_value)
    assert sorted(db_rows(engine, table)) == ["p1", "p3"]


def test_system_fields_the_table_lacks_are_ignored(engine, wix):
    table = create_table(
        engine,
        "plain",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
    )
    status, body = insert(
        wix,
        "plain",
        [
            {
                "_id": "x1",
                "name": "Ada",
                "_owner": "facda016-24ef-4909-a90e-70687f17f658",
                "_createdDate": {"$date": "2021-01-02T03:04:05.000Z"},
                "_updatedDate": {"$date": "2021-01-02T03:04:05.000Z"},
            },
            {"_id": "x2", "name": "Bo", "_owner": "someone"},
        ],
    )
    assert results_of(status, body) == [
        {"item": {"_id": "x1", "name": "Ada"}},
        {"item": {"_id": "x2", "name": "Bo"}},
    ]
    rows = db_rows(engine, table)
    assert rows == {"x1": {"_id": "x1", "name": "Ada"}, "x2": {"_id": "x2", "name": "Bo"}}


def test_insert_of_1000_items(engine, wix):
    table = people(engine)
    items = [{"_id": f"p{i:04d}", "name": f"n{i}", "age": i, "_owner": "o"} for i in range(1000)]
    status, body = insert(wix, "people", items)
    results = results_of(status, body)
    assert len(results) == 1000
    assert all(set(r) == {"item"} for r in results)
    assert [r["item"]["_id"] for r in results] == [it["_id"] for it in items]
    assert [r["item"]["age"] for r in results] == list(range(1000))
    rows = db_rows(engine, table)
    assert len(rows) == 1000
    assert {k: r["age"] for k, r in rows.items()} == {it["_id"]: it["age"] for it in items}


def test_insert_of_1001_items_is_rejected_whole(engine, wix):
    table = people(engine)
    items = [{"_id": f"p{i:04d}", "name": f"n{i}", "_owner": "o"} for i in range(1001)]
    status, body = insert(wix, "people", items)
    assert status == 400, body
    assert body["errorCode"] == "VALIDATION_ERROR"
    assert isinstance(body["errorMessage"], str)
    assert [v["fieldPath"] for v in body["data"]["violations"]] == ["items"]
    assert db_rows(engine, table) == {}


# --- update ----------------------------------------------------------------


def test_update_replaces_the_item_completely(engine, wix):
    table = people(engine, rows=[person("p1", "Ada", 36, True, owner="owner-1")])
    before = now()
    status, body = update(
        wix,
        "people",
        [
            {
                "_id": "p1",
                "name": "Ada L.",
                # A caller's dates never replace the server's.
                "_createdDate": {"$date": "2030-01-01T00:00:00.000Z"},
                "_updatedDate": {"$date": "2001-01-01T00:00:00.000Z"},
            }
        ],
    )
    after = now()
    [result] = results_of(status, body)
    item = result["item"]
    assert without_dates(item) == {
        "_id": "p1",
        "name": "Ada L.",
        "age": None,
        "active": None,
        "_owner": "owner-1",
    }
    assert item["_createdDate"] == iso(OLD_CREATED)
    assert_recent(item["_updatedDate"], before, after)
    assert parse_date(item["_updatedDate"]) >= parse_date(item["_createdDate"])
    assert stored(wix, "people", "p1") == item
    row = db_rows(engine, table)["p1"]
    assert (row["name"], row["age"], row["active"], row["_owner"]) == (
        "Ada L.",
        None,
        None,
        "owner-1",
    )
    assert wire_date(row["_createdDate"]) == iso(OLD_CREATED)
    assert wire_date(row["_updatedDate"]) == item["_updatedDate"]


def test_update_of_a_missing_item_fails_for_that_item_only(engine, wix):
    table = people(engine, rows=[person("p1", "Ada", 1), person("p2", "Bob", 2)])
    status, body = update(
        wix,
        "people",
        [
            {"_id": "p1", "name": "Ada 2", "age": 10},
            {"_id": "ghost", "name": "Nobody"},
            {"_id": "p2", "name": "Bob 2", "age": 20},
        ],
    )
    results = results_of(status, body)
    assert [set(r) for r in results] == [{"item"}, {"error"}, {"item"}]
    assert_item_error(results[1], "ITEM_NOT_FOUND", {"itemId": "ghost"})
    assert without_dates(results[0]["item"]) == {
        "_id": "p1",
        "name": "Ada 2",
        "age": 10,
        "active": None,
        "_owner": "owner-1",
    }
    assert without_dates(results[2]["item"])["name"] == "Bob 2"
    rows = db_rows(engine, table)
    assert {k: (r["name"], r["age"]) for k, r in rows.items()} == {
        "p1": ("Ada 2", 10),
        "p2": ("Bob 2", 20),
    }


def test_seed_update_example(engine, wix):
    create_table(
        engine,
        "cities",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("_owner", sa.String(64)),
        sa.Column("_createdDate", DATETIME),
        sa.Column("_updatedDate", DATETIME),
        rows=[
            {
                "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
                "name": "New Amsterdam",
                "_owner": "facda016-24ef-4909-a90e-70687f17f658",
                "_createdDate": dt.datetime(2021, 1, 2, 3, 4, 5),
                "_updatedDate": dt.datetime(2021, 1, 2, 3, 4, 5),
            }
        ],
    )
    before = now()
    status, body = wix.post(
        "/v3/items/update",
        {
            "collectionId": "cities",
            "items": [
                {
                    "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
                    "name": "New York",
                    "_owner": "facda016-24ef-4909-a90e-70687f17f658",
                }
            ],
        },
    )
    after = now()
    [result] = results_of(status, body)
    updated = result["item"]["_updatedDate"]
    assert_recent(updated, before, after)
    assert body == {
        "results": [
            {
                "item": {
                    "name": "New York",
                    "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
                    "_owner": "facda016-24ef-4909-a90e-70687f17f658",
                    "_createdDate": {"$date": "2021-01-02T03:04:05.000Z"},
                    "_updatedDate": updated,
                }
            }
        ]
    }
    assert stored(wix, "cities", "c285e77c-a86b-4361-a55f-c6b934d70187") == result["item"]


# --- remove and truncate ----------------------------------------------------


def test_remove_returns_the_removed_items_as_they_were(engine, wix):
    table = people(
        engine,
        rows=[person("p1", "Ada", 36, True), person("p2", "Bob", 0, False), person("p3", "Cy")],
    )
    before = {item["_id"]: item for item in wix.items("people")}
    status, body = remove(wix, "people", ["p2", "ghost", "p1"])
    results = results_of(status, body)
    assert [set(r) for r in results] == [{"item"}, {"error"}, {"item"}]
    assert results[0] == {"item": before["p2"]}
    assert results[2] == {"item": before["p1"]}
    assert_item_error(results[1], "ITEM_NOT_FOUND", {"itemId": "ghost"})
    assert results[0]["item"] == {
        "_id": "p2",
        "name": "Bob",
        "age": 0,
        "active": False,
        "_owner": "owner-1",
        "_createdDate": iso(OLD_CREATED),
        "_updatedDate": iso(OLD_UPDATED),
    }
    assert list(db_rows(engine, table)) == ["p3"]
    assert wix.ids("people") == ["p3"]


def test_truncate_removes_every_item(engine, wix):
    table = people(engine, rows=[person(f"p{i}", f"n{i}") for i in range(5)])
    status, body = wix.post("/v3/items/truncate", {"collectionId": "people"})
    assert (status, body) == (200, {})
    assert wix.post("/v3/items/count", {"collectionId": "people", "filter": {}}) == (
        200,
        {"totalCount": 0},
    )
    assert db_rows(engine, table) == {}


# --- constraints and atomicity ----------------------------------------------


def strict(engine, rows=()):
    return create_table(
        engine,
        "strict",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("code", sa.String(20), unique=True),
        sa.Column("_createdDate", DATETIME),
        sa.Column("_updatedDate", DATETIME),
        rows=rows,
    )


def test_not_null_violation_fails_for_that_item_only(engine, wix):
    table = strict(engine)
    status, body = insert(
        wix,
        "strict",
        [
            {"_id": "s1", "name": "one", "code": "A"},
            {"_id": "s2", "name": None, "code": "B"},
            {"_id": "s3", "name": "three", "code": "C"},
        ],
    )
    results = results_of(status, body)
    assert [set(r) for r in results] == [{"item"}, {"error"}, {"item"}]
    assert_item_violation(results[1], "name", None)
    assert {k: r["name"] for k, r in db_rows(engine, table).items()} == {
        "s1": "one",
        "s3": "three",
    }


def test_failed_update_of_one_item_leaves_it_untouched(engine, wix):
    rows = [
        {
            "_id": f"s{i}",
            "name": f"n{i}",
            "code": f"C{i}",
            "_createdDate": OLD_CREATED,
            "_updatedDate": OLD_UPDATED,
        }
        for i in (1, 2, 3)
    ]
    table = strict(engine, rows=rows)
    status, body = update(
        wix,
        "strict",
        [
            {"_id": "s1", "name": "new 1", "code": "D1"},
            {"_id": "s2", "name": None, "code": "D2"},
            {"_id": "s3", "name": "new 3", "code": "D3"},
        ],
    )
    results = results_of(status, body)
    assert [set(r) for r in results] == [{"item"}, {"error"}, {"item"}]
    assert_item_violation(results[1], "name", None)
    after = db_rows(engine, table)
    assert {k: (r["name"], r["code"]) for k, r in after.items()} == {
        "s1": ("new 1", "D1"),
        "s2": ("n2", "C2"),
        "s3": ("new 3", "D3"),
    }
    # Nothing of the failed item was written, not even its _updatedDate.
    assert after["s2"]["_updatedDate"] == OLD_UPDATED
    assert after["s2"]["_createdDate"] == OLD_CREATED


def test_unique_violation_mid_request_does_not_stop_the_others(engine, wix):
    table = strict(engine, rows=[{"_id": "s1", "name": "one", "code": "TAKEN"}])
    status, body = insert(
        wix,
        "strict",
        [
            {"_id": "s2", "name": "two", "code": "FREE"},
            {"_id": "s3", "name": "three", "code": "TAKEN"},
            {"_id": "s4", "name": "four", "code": "ALSO-FREE"},
        ],
    )
    results = results_of(status, body)
    assert [set(r) for r in results] == [{"item"}, {"error"}, {"item"}]
    error = results[1]["error"]
    assert error["errorCode"] == "VALIDATION_ERROR", error
    assert isinstance(error["data"]["violations"], list) and error["data"]["violations"]
    assert {k: r["code"] for k, r in db_rows(engine, table).items()} == {
        "s1": "TAKEN",
        "s2": "FREE",
        "s4": "ALSO-FREE",
    }


def test_an_id_removed_after_its_insert_clashed_is_still_item_already_exists(
    engine, wix, monkeypatch
):
    """A concurrent writer can insert an id after the pre-check and remove it
    again before the error is explained; the clash on the primary key itself
    says the id existed. A clash on another unique key stays a violation."""
    table = strict(engine, rows=[{"_id": "s1", "name": "one", "code": "TAKEN"}])
    # Every look at the table misses, as it would for a writer that raced both ways.
    monkeypatch.setattr(items_writes, "stored_rows", lambda *args, **kwargs: {})
    status, body = insert(
        wix,
        "strict",
        [{"_id": "s1", "name": "again", "code": "FREE"}],
    )
    assert_item_error(results_of(status, body)[0], "ITEM_ALREADY_EXISTS", {"itemId": "s1"})
    status, body = insert(
        wix,
        "strict",
        [{"_id": "s2", "name": "two", "code": "TAKEN"}],
    )
    assert results_of(status, body)[0]["error"]["errorCode"] == "VALIDATION_ERROR"
    assert {k: (r["name"], r["code"]) for k, r in db_rows(engine, table).items()} == {
        "s1": ("one", "TAKEN"),
    }


# --- read-only collections ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "request_"),
    [
        ("/v3/items/insert", {"items": [{"_id": "v9", "name": "new"}]}),
        ("/v3/items/update", {"items": [{"_id": "v1", "name": "changed"}]}),
        ("/v3/items/remove", {"itemIds": ["v1"]}),
        ("/v3/items/truncate", {}),
    ],
    ids=["insert", "update", "remove", "truncate"],
)
def test_writes_to_a_view_are_bad_request(engine, wix, path, request_):
    table = create_table(
        engine,
        "base",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(50)),
        rows=[{"_id": "v1", "name": "one"}, {"_id": "v2", "name": "two"}],
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE VIEW base_view AS SELECT _id, name FROM base")
    assert wix.ids("base_view") == ["v1", "v2"]
    status, body = wix.post(path, {"collectionId": "base_view", **request_})
    assert status == 400, body
    assert set(body) == {"errorCode", "errorMessage", "data"}
    assert body["errorCode"] == "BAD_REQUEST"
    assert isinstance(body["errorMessage"], str)
    assert db_rows(engine, table) == {
        "v1": {"_id": "v1", "name": "one"},
        "v2": {"_id": "v2", "name": "two"},
    }


# --- integer keys -------------------------------------------------------------


@pytest.mark.parametrize("key", ["_id", "id"])
def test_insert_into_an_autoincrement_key_returns_the_database_ids(engine, wix, key):
    table = create_table(
        engine,
        "counters",
        sa.Column(key, sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(50)),
    )
    status, body = insert(wix, "counters", [{"name": "a"}, {"name": "b"}, {"name": "c"}])
    results = results_of(status, body)
    ids = [r["item"]["_id"] for r in results]
    assert all(isinstance(i, str) for i in ids), ids
    assert len(set(ids)) == 3
    rows = db_rows(engine, table)
    expected = dict(zip(ids, ["a", "b", "c"], strict=True))
    assert {str(k): r["name"] for k, r in rows.items()} == expected
    assert [r["item"] for r in results] == [{"_id": i, "name": n} for i, n in expected.items()]
    # An explicit integer id travels as a string too.
    status, body = insert(wix, "counters", [{"_id": "41", "name": "d"}])
    assert results_of(status, body) == [{"item": {"_id": "41", "name": "d"}}]
    assert db_rows(engine, table)[41]["name"] == "d"


def test_a_1000_item_insert_is_one_batch(engine, app, wix):
    """A 1000-item insert is a handful of statements, not 1000 round trips."""
    create_table(
        engine, "bulk", sa.Column("_id", TEXT_ID, primary_key=True), sa.Column("n", sa.Integer)
    )
    statements = []
    app_engine = app.extensions["connector.engine"]
    wix.items("bulk")  # reflect the table before counting

    def count(conn, cursor, statement, parameters, context, executemany):
        if "_connector_settings" not in statement:  # not the per-request schema version
            statements.append(statement.split()[0].upper())

    sa.event.listen(app_engine, "before_cursor_execute", count)
    try:
        status, body = wix.post(
            "/v3/items/insert",
            {
                "collectionId": "bulk",
                "items": [{"_id": f"i{n:04d}", "n": n} for n in range(1000)],
            },
        )
    finally:
        sa.event.remove(app_engine, "before_cursor_execute", count)
    assert status == 200
    assert [r["item"]["n"] for r in body["results"]] == list(range(1000))
    # One look-up of existing ids and one multi-row INSERT (plus savepoint bookkeeping).
    assert statements.count("INSERT") == 1
    assert statements.count("SELECT") == 1
