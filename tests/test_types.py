"""Column types and collections: how values travel between the wire and each
backend, integer keys, wrong types, read-only collections, schema changes made
by other tools, and the connector's own tables.

Every test runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from conftest import DATETIME, TEXT_ID, TIME, create_table
from sqlalchemy.dialects import mysql

# --- helpers -----------------------------------------------------------------


def assert_same(actual, expected):
    """Equal, and of the same JSON types (1 is not 1.0, True is not 1)."""
    assert actual == expected
    assert json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True)


def typed_table(engine, column_type, rows=()):
    """Table "typed" with a text key and one column ``v`` of ``column_type``."""
    return create_table(
        engine,
        "typed",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("v", column_type),
        rows=rows,
    )


def insert(wix, collection, items):
    """POST /v3/items/insert; returns the per-item results (asserts 200)."""
    status, body = wix.post("/v3/items/insert", {"collectionId": collection, "items": items})
    assert status == 200, body
    assert list(body) == ["results"], body
    assert len(body["results"]) == len(items), body
    return body["results"]


def insert_ok(wix, collection, items):
    """Insert items that must all succeed; returns the stored items."""
    results = insert(wix, collection, items)
    for result in results:
        assert list(result) == ["item"], results
    return [result["item"] for result in results]


def round_trip(wix, engine, column_type, values):
    """Insert ``values`` into a fresh column of ``column_type`` through the API.

    Returns (values as the insert answered them, values as a query returns them,
    values as stored in the database), in input order.
    """
    table = typed_table(engine, column_type)
    items = [{"_id": f"i{k:02d}", "v": value} for k, value in enumerate(values)]
    inserted = insert_ok(wix, "typed", items)
    assert [item["_id"] for item in inserted] == [item["_id"] for item in items]
    queried = wix.items("typed", {"paging": {"limit": 1000}})
    assert [item["_id"] for item in queried] == [item["_id"] for item in items]
    for item in inserted + queried:
        assert set(item) == {"_id", "v"}
    return (
        [item["v"] for item in inserted],
        [item["v"] for item in queried],
        stored(engine, table),
    )


def stored(engine, table):
    """Column ``v`` as the database holds it, ordered by _id."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table.c.v).order_by(table.c._id)).scalars())


def read_back(wix, engine, column_type, values):
    """Values written with SQLAlchemy directly, as a query returns them."""
    typed_table(
        engine, column_type, rows=[{"_id": f"r{k:02d}", "v": v} for k, v in enumerate(values)]
    )
    return [item["v"] for item in wix.items("typed", {"paging": {"limit": 1000}})]


def assert_item_violation(result, field_path, rejected_value):
    """A per-item VALIDATION_ERROR result for ``field_path``."""
    assert list(result) == ["error"], result
    error = result["error"]
    assert error["errorCode"] == "VALIDATION_ERROR", result
    assert isinstance(error["errorMessage"], str) and error["errorMessage"]
    assert list(error["data"]) == ["violations"], result
    violations = error["data"]["violations"]
    assert [(v["fieldPath"], v["rejectedValue"]) for v in violations] == [
        (field_path, rejected_value)
    ], result


def assert_validation_error(status, body, field_path, rejected_value):
    assert status == 400, body
    assert body["errorCode"] == "VALIDATION_ERROR", body
    assert list(body["data"]) == ["violations"], body
    assert [(v["fieldPath"], v["rejectedValue"]) for v in body["data"]["violations"]] == [
        (field_path, rejected_value)
    ], body


def assert_bad_request(status, body):
    assert status == 400, body
    assert body["errorCode"] == "BAD_REQUEST", body
    assert isinstance(body["errorMessage"], str) and body["errorMessage"]


def assert_collection_not_found(status, body, collection_id):
    assert status == 404, body
    assert body["errorCode"] == "COLLECTION_NOT_FOUND", body
    assert body["data"] == {"collectionId": collection_id}, body


def count_rows(engine, table_name):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(sa.table(table_name))).scalar()


# --- round trips per type ----------------------------------------------------

TEXTS = ["hello", "", "Grüße – 日本語 🎉", None, "  spaced  ", "line\nbreak", "q ' \" \\ % _"]


@pytest.mark.parametrize("column_type", [sa.String(100), sa.Text()], ids=["String", "Text"])
def test_text(wix, engine, column_type):
    inserted, queried, in_db = round_trip(wix, engine, column_type, TEXTS)
    assert_same(inserted, TEXTS)
    assert_same(queried, TEXTS)
    assert in_db == TEXTS


def test_integer(wix, engine):
    values = [0, -5, 2147483647, -2147483648, None]
    inserted, queried, in_db = round_trip(wix, engine, sa.Integer, values)
    assert_same(inserted, values)
    assert_same(queried, values)
    assert in_db == values


def test_big_integer(wix, engine):
    values = [2**53 + 1, -(2**63), 2**63 - 1, 0, None]  # 2**53 + 1 is not a float
    inserted, queried, in_db = round_trip(wix, engine, sa.BigInteger, values)
    assert_same(inserted, values)
    assert_same(queried, values)
    assert in_db == values


def test_double(wix, engine):
    values = [1.5, -0.1, 1e300, 2.0, 2, 0, None]
    expected = [1.5, -0.1, 1e300, 2.0, 2.0, 0.0, None]  # float columns answer floats
    inserted, queried, in_db = round_trip(wix, engine, sa.Double, values)
    assert_same(inserted, expected)
    assert_same(queried, expected)
    assert in_db == expected


def test_numeric(wix, engine):
    values = [12.5, 10, 10.0, -3.25, 0.01, 99999999.99, None]
    expected = [12.5, 10, 10, -3.25, 0.01, 99999999.99, None]  # int when integral
    inserted, queried, in_db = round_trip(wix, engine, sa.Numeric(10, 2), values)
    assert_same(inserted, expected)
    assert_same(queried, expected)
    assert [None if v is None else Decimal(v).quantize(Decimal("0.01")) for v in in_db] == [
        Decimal("12.50"),
        Decimal("10.00"),
        Decimal("10.00"),
        Decimal("-3.25"),
        Decimal("0.01"),
        Decimal("99999999.99"),
        None,
    ]


def test_numeric_read_from_the_database(wix, engine):
    values = [Decimal("12.50"), Decimal("10.00"), Decimal("-0.75"), None]
    assert_same(read_back(wix, engine, sa.Numeric(10, 2), values), [12.5, 10, -0.75, None])


def test_boolean(wix, engine, backend):
    values = [True, False, None]
    inserted, queried, in_db = round_trip(wix, engine, sa.Boolean, values)
    assert_same(inserted, values)
    assert_same(queried, values)
    assert in_db == values
    if backend == "mariadb":  # really a tinyint there, yet true/false on the wire
        (column,) = [c for c in sa.inspect(engine).get_columns("typed") if c["name"] == "v"]
        assert isinstance(column["type"], mysql.TINYINT)


def test_boolean_read_from_the_database(wix, engine):
    assert_same(read_back(wix, engine, sa.Boolean, [False, True, None]), [False, True, None])


@pytest.mark.parametrize("backend", ["mariadb"])  # TINYINT(1) is MariaDB's boolean
def test_boolean_tinyint_written_by_another_tool(wix, engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE flags (_id VARCHAR(64) PRIMARY KEY, on_ TINYINT(1))")
        conn.exec_driver_sql("INSERT INTO flags VALUES ('a', 1), ('b', 0), ('c', NULL)")
    assert_same(
        wix.items("flags"),
        [{"_id": "a", "on_": True}, {"_id": "b", "on_": False}, {"_id": "c", "on_": None}],
    )


def test_date(wix, engine):
    values = ["2024-02-29", {"$date": "2024-02-29T00:00:00.000Z"}, "1999-12-31", None]
    expected = ["2024-02-29", "2024-02-29", "1999-12-31", None]
    inserted, queried, in_db = round_trip(wix, engine, sa.Date, values)
    assert_same(inserted, expected)
    assert_same(queried, expected)
    assert in_db == [dt.date(2024, 2, 29), dt.date(2024, 2, 29), dt.date(1999, 12, 31), None]


def test_date_read_from_the_database(wix, engine):
    values = [dt.date(2024, 2, 29), dt.date(1970, 1, 1), None]
    assert_same(read_back(wix, engine, sa.Date, values), ["2024-02-29", "1970-01-01", None])


def test_datetime(wix, engine):
    values = [
        {"$date": "2021-01-02T03:04:05.678Z"},
        "2021-01-02T05:04:05.678+02:00",  # an ISO string with an offset: stored as UTC
        "2021-01-02T03:04:05.678Z",
        {"$date": "2021-01-02T03:04:05Z"},
        {"$date": "2024-02-29T23:59:59.999Z"},
        None,
    ]
    expected = [
        {"$date": "2021-01-02T03:04:05.678Z"},
        {"$date": "2021-01-02T03:04:05.678Z"},
        {"$date": "2021-01-02T03:04:05.678Z"},
        {"$date": "2021-01-02T03:04:05.000Z"},
        {"$date": "2024-02-29T23:59:59.999Z"},
        None,
    ]
    inserted, queried, in_db = round_trip(wix, engine, DATETIME, values)
    assert_same(inserted, expected)
    assert_same(queried, expected)
    # stored as naive UTC, with exactly the milliseconds given (no invented microseconds)
    ms678 = dt.datetime(2021, 1, 2, 3, 4, 5, 678000)
    assert in_db == [
        ms678,
        ms678,
        ms678,
        dt.datetime(2021, 1, 2, 3, 4, 5),
        dt.datetime(2024, 2, 29, 23, 59, 59, 999000),
        None,
    ]
    assert all(v is None or v.tzinfo is None for v in in_db)


def test_datetime_read_from_the_database(wix, engine):
    values = [
        dt.datetime(2020, 5, 6, 7, 8, 9, 123456),
        dt.datetime(2020, 5, 6, 7, 8, 9),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
        None,
    ]
    assert_same(
        read_back(wix, engine, DATETIME, values),
        [
            {"$date": "2020-05-06T07:08:09.123Z"},
            {"$date": "2020-05-06T07:08:09.000Z"},
            {"$date": "1999-12-31T23:59:59.999Z"},
            None,
        ],
    )


def test_time(wix, engine):
    values = ["13:14:15.678", "13:14:15", "00:00:00.000", None]
    expected = ["13:14:15.678", "13:14:15.000", "00:00:00.000", None]
    inserted, queried, in_db = round_trip(wix, engine, TIME, values)
    assert_same(inserted, expected)
    assert_same(queried, expected)
    assert in_db == [dt.time(13, 14, 15, 678000), dt.time(13, 14, 15), dt.time(0, 0), None]


def test_time_read_from_the_database(wix, engine):
    values = [dt.time(1, 2, 3), dt.time(23, 59, 59, 999999), None]
    assert_same(read_back(wix, engine, TIME, values), ["01:02:03.000", "23:59:59.999", None])


JSON_VALUES = [
    {"a": 1, "b": [1, 2, {"c": "x"}], "d": None, "e": True, "f": 2.5},
    [1, "two", 3.5, None, [], {}, False],
    {"deep": {"deeper": {"deepest": [{"k": "v"}, [[]]]}}},
    {"name": "Zoë 日本語 🎉", "quote": 'it\'s "q" \\', "Ünï": "ü"},
    {},
    [],
    None,
]


def test_json(wix, engine):
    inserted, queried, in_db = round_trip(wix, engine, sa.JSON, JSON_VALUES)
    assert_same(inserted, JSON_VALUES)
    assert_same(queried, JSON_VALUES)
    assert in_db == JSON_VALUES


def test_json_read_from_the_database(wix, engine):
    assert_same(read_back(wix, engine, sa.JSON, JSON_VALUES[:4]), JSON_VALUES[:4])


def test_text_holding_an_iso_string_stays_a_string(wix, engine):
    create_table(
        engine,
        "notes",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("s", sa.String(50)),
        sa.Column("t", sa.Text),
        rows=[{"_id": "a", "s": "2021-01-02T03:04:05.678Z", "t": "2021-01-02"}],
    )
    inserted = insert_ok(
        wix, "notes", [{"_id": "b", "s": "2021-01-02T03:04:05Z", "t": "2021-01-02T03:04:05Z"}]
    )
    assert_same(inserted, [{"_id": "b", "s": "2021-01-02T03:04:05Z", "t": "2021-01-02T03:04:05Z"}])
    assert_same(
        wix.items("notes"),
        [
            {"_id": "a", "s": "2021-01-02T03:04:05.678Z", "t": "2021-01-02"},
            {"_id": "b", "s": "2021-01-02T03:04:05Z", "t": "2021-01-02T03:04:05Z"},
        ],
    )


def all_types(engine):
    return create_table(
        engine,
        "everything",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("s", sa.String(100)),
        sa.Column("t", sa.Text),
        sa.Column("i", sa.Integer),
        sa.Column("bi", sa.BigInteger),
        sa.Column("d", sa.Double),
        sa.Column("n", sa.Numeric(10, 2)),
        sa.Column("b", sa.Boolean),
        sa.Column("day", sa.Date),
        sa.Column("ts", DATETIME),
        sa.Column("tm", TIME),
        sa.Column("j", sa.JSON),
    )


def test_every_type_in_one_item(wix, engine):
    all_types(engine)
    item = {
        "_id": "x",
        "s": "s",
        "t": "t",
        "i": 1,
        "bi": 2**40,
        "d": 0.5,
        "n": 12.5,
        "b": False,
        "day": "2024-02-29",
        "ts": {"$date": "2021-01-02T03:04:05.678Z"},
        "tm": "13:14:15.678",
        "j": {"k": [1, "v"]},
    }
    assert_same(insert_ok(wix, "everything", [item]), [item])
    assert_same(wix.items("everything"), [item])


def test_absent_fields_are_null(wix, engine):
    all_types(engine)
    nulls = {
        "_id": "x",
        **dict.fromkeys(("s", "t", "i", "bi", "d", "n", "b", "day", "ts", "tm", "j")),
    }
    assert_same(insert_ok(wix, "everything", [{"_id": "x"}]), [nulls])
    assert_same(wix.items("everything"), [nulls])


# --- integer primary keys ----------------------------------------------------


def books(engine):
    """Integer auto-increment key ``id``; the database gives the first two rows 1 and 2."""
    return create_table(
        engine,
        "books",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(100)),
        rows=[{"title": "a"}, {"title": "b"}],
    )


def test_integer_key_is_a_string_id(wix, engine):
    books(engine)
    assert_same(wix.items("books"), [{"_id": "1", "title": "a"}, {"_id": "2", "title": "b"}])


def test_integer_key_insert(wix, engine):
    table = books(engine)
    # without _id: the database's own ids, as strings, also for several in one request
    assert_same(
        insert_ok(wix, "books", [{"title": "c"}, {"title": "d"}]),
        [{"_id": "3", "title": "c"}, {"_id": "4", "title": "d"}],
    )
    # with _id: the string is stored as the integer
    assert_same(
        insert_ok(wix, "books", [{"_id": "42", "title": "e"}, {"_id": "10", "title": "f"}]),
        [{"_id": "42", "title": "e"}, {"_id": "10", "title": "f"}],
    )
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.title).order_by(table.c.id)).all()
    assert [tuple(r) for r in rows] == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
        (4, "d"),
        (10, "f"),
        (42, "e"),
    ]
    # ordered as numbers, not as strings
    assert wix.ids("books") == ["1", "2", "3", "4", "10", "42"]


def test_integer_key_filter(wix, engine):
    books(engine)
    assert_same(wix.items("books", {"filter": {"_id": "2"}}), [{"_id": "2", "title": "b"}])
    assert wix.ids("books", {"_id": {"$in": ["1", "2", "99"]}}) == ["1", "2"]
    assert wix.ids("books", {"_id": {"$ne": "1"}}) == ["2"]


def test_integer_key_with_non_integer_id(wix, engine):
    books(engine)
    status, body = wix.query("books", {"filter": {"_id": "abc"}})
    assert_validation_error(status, body, "_id", "abc")

    results = insert(wix, "books", [{"_id": "abc", "title": "x"}, {"title": "y"}])
    assert_item_violation(results[0], "_id", "abc")
    assert_same(results[1], {"item": {"_id": "3", "title": "y"}})
    assert count_rows(engine, "books") == 3


# --- wrong value types -------------------------------------------------------


def test_wrong_value_types_are_per_item_validation_errors(wix, engine):
    table = create_table(
        engine,
        "checked",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("i", sa.Integer),
        sa.Column("s", sa.String(50)),
        sa.Column("b", sa.Boolean),
        sa.Column("ts", DATETIME),
    )
    bad = [
        ("i", "twelve"),
        ("i", "12"),
        ("s", 5),
        ("b", "yes"),
        ("ts", "not a date"),
        ("i", 1.5),
        ("i", True),
    ]
    items = [{"_id": f"bad{k}", field: value} for k, (field, value) in enumerate(bad)]
    items.insert(3, {"_id": "good", "i": 7, "s": "x", "b": True, "ts": None})
    results = insert(wix, "checked", items)

    assert_same(results[3], {"item": {"_id": "good", "i": 7, "s": "x", "b": True, "ts": None}})
    errors = results[:3] + results[4:]
    for result, (field, value) in zip(errors, bad, strict=True):
        assert_item_violation(result, field, value)
    with engine.connect() as conn:
        assert list(conn.execute(sa.select(table.c._id)).scalars()) == ["good"]


# --- read-only and hidden tables --------------------------------------------


def test_view_is_a_read_only_collection(wix, engine):
    create_table(
        engine,
        "staff",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(50)),
        sa.Column("secret", sa.String(50)),
        rows=[
            {"_id": "b", "name": "Bob", "secret": "s2"},
            {"_id": "a", "name": "Ann", "secret": "s1"},
        ],
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE VIEW v AS SELECT _id, name FROM staff")

    assert_same(wix.items("v"), [{"_id": "a", "name": "Ann"}, {"_id": "b", "name": "Bob"}])
    assert wix.ids("v", {"name": "Bob"}) == ["b"]

    status, body = wix.post("/v3/items/insert", {"collectionId": "v", "items": [{"_id": "c"}]})
    assert_bad_request(status, body)
    status, body = wix.post("/v3/items/truncate", {"collectionId": "v"})
    assert_bad_request(status, body)
    assert count_rows(engine, "staff") == 2


def test_table_without_primary_key_with_id_column_is_read_only(wix, engine):
    create_table(
        engine,
        "log",
        sa.Column("id", sa.Integer),
        sa.Column("msg", sa.String(50)),
        rows=[{"id": 2, "msg": "b"}, {"id": 1, "msg": "a"}],
    )
    assert_same(wix.items("log"), [{"_id": "1", "msg": "a"}, {"_id": "2", "msg": "b"}])
    assert wix.ids("log", {"msg": "b"}) == ["2"]

    request = {"collectionId": "log", "items": [{"_id": "3", "msg": "c"}]}
    status, body = wix.post("/v3/items/insert", request)
    assert_bad_request(status, body)
    status, body = wix.post("/v3/items/truncate", {"collectionId": "log"})
    assert_bad_request(status, body)
    assert count_rows(engine, "log") == 2


def test_table_without_key_or_id_column_is_not_a_collection(wix, engine):
    create_table(
        engine,
        "loose",
        sa.Column("title", sa.String(50)),
        sa.Column("body", sa.Text),
        rows=[{"title": "t", "body": "b"}],
    )
    status, body = wix.query("loose")
    assert_collection_not_found(status, body, "loose")


def test_connector_tables_are_never_collections(wix, engine):
    create_table(
        engine,
        "_connector_custom",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("x", sa.Integer),
        rows=[{"_id": "a", "x": 1}],
    )
    create_table(engine, "plain", sa.Column("_id", TEXT_ID, primary_key=True))
    assert wix.items("plain") == []  # the app is up and has looked at the database
    for name in ("_connector_fields", "_connector_settings", "_connector_custom"):
        status, body = wix.query(name)
        assert_collection_not_found(status, body, name)


# --- schema changes by other tools -------------------------------------------


def test_table_created_later_shows_up_without_restart(wix, engine):
    create_table(engine, "first", sa.Column("_id", TEXT_ID, primary_key=True))
    assert wix.items("first") == []
    status, body = wix.query("later")
    assert_collection_not_found(status, body, "later")

    create_table(
        engine,
        "later",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.Integer),
        rows=[{"_id": "a", "n": 1}],
    )
    assert_same(wix.items("later"), [{"_id": "a", "n": 1}])


def test_column_added_later_shows_up(wix, engine):
    create_table(
        engine,
        "pets",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(50)),
        rows=[{"_id": "a", "name": "Rex"}, {"_id": "b", "name": "Tom"}],
    )
    assert_same(wix.items("pets"), [{"_id": "a", "name": "Rex"}, {"_id": "b", "name": "Tom"}])

    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE pets ADD COLUMN legs INTEGER")
        conn.exec_driver_sql("UPDATE pets SET legs = 4 WHERE _id = 'b'")

    assert_same(
        wix.items("pets", {"filter": {"legs": 4}}), [{"_id": "b", "name": "Tom", "legs": 4}]
    )
    assert_same(
        wix.items("pets"),
        [{"_id": "a", "name": "Rex", "legs": None}, {"_id": "b", "name": "Tom", "legs": 4}],
    )


def test_integers_beyond_64_bits(engine, wix):
    create_table(
        engine,
        "big",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.BigInteger),
        rows=[{"_id": "a", "n": 2**62}],
    )
    status, body = wix.post(
        "/v3/items/insert", {"collectionId": "big", "items": [{"_id": "b", "n": 2**70}]}
    )
    assert status == 200
    error = body["results"][0]["error"]
    assert error["errorCode"] == "VALIDATION_ERROR"
    assert [(v["fieldPath"], v["rejectedValue"]) for v in error["data"]["violations"]] == [
        ("n", 2**70)
    ]
    # As a filter operand a huge number still compares correctly.
    assert wix.ids("big", {"n": {"$lt": 2**70}}) == ["a"]
    assert wix.ids("big", {"n": {"$gt": 2**70}}) == []
