"""Inputs and schemas that once broke the connector (found in review): each
must give exact data or a clear 4xx, never a 500 or a silent change."""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa
from conftest import DATETIME, TEXT_ID, create_table

UUID_A = "c285e77c-a86b-4361-a55f-c6b934d70187"
UUID_B = "faa17edb-2d88-488d-8e95-24b9364c3284"


def violations(error):
    return [(v["fieldPath"], v["rejectedValue"]) for v in error["data"]["violations"]]


def test_a_json_field_set_to_null_is_sql_null(engine, wix):
    table = create_table(
        engine,
        "places",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.Integer),
        sa.Column("loc", sa.JSON),
    )
    wix.post(
        "/v3/items/insert",
        {
            "collectionId": "places",
            "items": [{"_id": "a", "n": 0, "loc": {"x": 1}}, {"_id": "b", "n": 0, "loc": None}],
        },
    )
    status, _ = wix.post(
        "/v3/items/update", {"collectionId": "places", "items": [{"_id": "a", "n": 1}]}
    )
    assert status == 200
    assert wix.ids("places", {"loc": {"$exists": False}}) == ["a", "b"]
    assert wix.ids("places", {"loc": {"$eq": None}}) == ["a", "b"]
    with engine.connect() as conn:
        raw = conn.execute(sa.select(sa.cast(table.c.loc, sa.Text)).order_by(table.c._id))
        assert raw.scalars().all() == [None, None]


def test_doubles_round_trip_exactly_and_page_by_cursor(engine, wix):
    create_table(
        engine, "floats", sa.Column("_id", TEXT_ID, primary_key=True), sa.Column("f", sa.Double)
    )
    values = [1e-300, 1234.567890123457, 0.30000000000000004, 0.30000000000000004, 0.3]
    items = [{"_id": f"r{i}", "f": v} for i, v in enumerate(values)]
    status, body = wix.post("/v3/items/insert", {"collectionId": "floats", "items": items})
    assert [r["item"]["f"] for r in body["results"]] == values
    assert wix.ids("floats", {"f": {"$gt": 0.3}}) == ["r1", "r2", "r3"]
    seen, cursor = [], None
    for _ in range(10):
        paging = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        query = (
            {"cursorPaging": paging}
            if cursor
            else {"sort": [{"fieldName": "f"}], "cursorPaging": paging}
        )
        status, body = wix.query("floats", query)
        seen += [item["_id"] for item in body["items"]]
        cursor = body["pagingMetadata"]["cursors"].get("next")
        if cursor is None:
            break
    assert seen == ["r0", "r4", "r2", "r3", "r1"]


@pytest.fixture
def uuid_table(engine, backend):
    if backend == "sqlite":
        pytest.skip("SQLite has no UUID column type")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE tokens (_id UUID PRIMARY KEY, label VARCHAR(20))")
        conn.exec_driver_sql(f"INSERT INTO tokens VALUES ('{UUID_A}', 'a')")


def test_uuid_keys(uuid_table, wix):
    status, body = wix.post(
        "/v3/items/insert",
        {
            "collectionId": "tokens",
            "items": [{"_id": UUID_B, "label": "b"}, {"_id": "nope", "label": "c"}],
        },
    )
    assert body["results"][0] == {"item": {"_id": UUID_B, "label": "b"}}
    assert violations(body["results"][1]["error"]) == [("_id", "nope")]
    assert wix.ids("tokens", {"_id": UUID_A}) == [UUID_A]
    assert wix.ids("tokens", {"_id": {"$startsWith": "C285"}}) == [UUID_A]
    status, body = wix.query("tokens", {"filter": {"_id": "nope"}})
    assert (status, violations(body)) == (400, [("_id", "nope")])
    status, body = wix.post(
        "/v3/items/update", {"collectionId": "tokens", "items": [{"_id": UUID_A, "label": "A"}]}
    )
    assert body == {"results": [{"item": {"_id": UUID_A, "label": "A"}}]}
    status, body = wix.post("/v3/items/remove", {"collectionId": "tokens", "itemIds": [UUID_B]})
    assert body == {"results": [{"item": {"_id": UUID_B, "label": "b"}}]}


@pytest.mark.parametrize("bad_id", ["--5", "²", "99999999999999999999", "1.5", ""])
def test_impossible_integer_ids_are_validation_errors(engine, wix, bad_id):
    create_table(
        engine,
        "numbered",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("t", sa.String(10)),
        rows=[{"t": "x"}],
    )
    status, body = wix.query("numbered", {"filter": {"_id": bad_id}})
    assert (status, violations(body)) == (400, [("_id", bad_id)])
    status, body = wix.post("/v3/items/remove", {"collectionId": "numbered", "itemIds": [bad_id]})
    assert violations(body["results"][0]["error"]) == [("_id", bad_id)]
    status, body = wix.post(
        "/v3/items/insert", {"collectionId": "numbered", "items": [{"_id": bad_id, "t": "y"}]}
    )
    assert violations(body["results"][0]["error"]) == [("_id", bad_id)]
    assert wix.ids("numbered") == ["1"]


def test_a_check_constraint_refuses_one_item_only(engine, wix):
    create_table(
        engine,
        "priced",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("price", sa.Integer),
        sa.CheckConstraint("price > 0"),
    )
    status, body = wix.post(
        "/v3/items/insert",
        {
            "collectionId": "priced",
            "items": [
                {"_id": "a", "price": 5},
                {"_id": "b", "price": -1},
                {"_id": "c", "price": 7},
            ],
        },
    )
    assert status == 200
    assert body["results"][0] == {"item": {"_id": "a", "price": 5}}
    assert body["results"][2] == {"item": {"_id": "c", "price": 7}}
    error = body["results"][1]["error"]
    assert error["errorCode"] == "VALIDATION_ERROR"
    assert "constraint" in error["errorMessage"]
    assert wix.ids("priced") == ["a", "c"]
    status, body = wix.post(
        "/v3/items/update",
        {"collectionId": "priced", "items": [{"_id": "a", "price": -5}, {"_id": "c", "price": 8}]},
    )
    assert body["results"][0]["error"]["errorCode"] == "VALIDATION_ERROR"
    assert body["results"][1] == {"item": {"_id": "c", "price": 8}}


@pytest.mark.parametrize(
    ("query", "field_path"),
    [
        ({"filter": {"n": {"$in": list(range(1001))}}}, "n"),
        ({"filter": {"$or": [{"n": i} for i in range(1500)]}}, "n"),
        ({"paging": {"limit": 5, "offset": 10**20}}, "query.paging.offset"),
        ({"filter": {"when": {"$gt": {"$date": "0001-01-01T00:00:00+01:00"}}}}, "when"),
    ],
    ids=["long-in", "many-clauses", "huge-offset", "date-out-of-range"],
)
def test_oversized_or_impossible_queries_are_validation_errors(engine, wix, query, field_path):
    create_table(
        engine,
        "nums",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.Integer),
        sa.Column("when", DATETIME),
    )
    status, body = wix.query("nums", query)
    assert status == 400
    assert body["errorCode"] == "VALIDATION_ERROR"
    assert body["data"]["violations"][0]["fieldPath"] == field_path


def test_an_aggregation_of_nothing_is_a_validation_error(engine, wix):
    create_table(engine, "nums", sa.Column("_id", TEXT_ID, primary_key=True))
    status, body = wix.post("/v3/items/aggregate", {"collectionId": "nums", "aggregation": {}})
    assert status == 400
    assert body["data"]["violations"][0]["fieldPath"] == "aggregation"


def test_matches_and_urlized_match_the_whole_text_even_before_a_newline(engine, wix):
    create_table(
        engine,
        "lines",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("t", sa.String(20)),
        rows=[
            {"_id": "a", "t": "abc"},
            {"_id": "b", "t": "abc\n"},
            {"_id": "c", "t": "ada lovelace\n"},
        ],
    )
    spec = {"ignoreCase": False, "spec": [{"type": "literal", "value": "abc"}]}
    assert wix.ids("lines", {"t": {"$matches": spec}}) == ["a"]
    assert wix.ids("lines", {"t": {"$urlized": "ada-lovelace"}}) == []


def test_early_years_and_time_offsets(engine, wix):
    create_table(
        engine,
        "moments",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("when", DATETIME),
        sa.Column("at", sa.Time),
    )
    status, body = wix.post(
        "/v3/items/insert",
        {
            "collectionId": "moments",
            "items": [
                {"_id": "a", "when": {"$date": "1000-01-02T03:04:05.006Z"}, "at": "10:00:00+02:00"}
            ],
        },
    )
    assert body["results"][0]["item"]["when"] == {"$date": "1000-01-02T03:04:05.006Z"}
    assert body["results"][0]["item"]["at"] == "08:00:00.000"


@contextlib.contextmanager
def server_time_zone(engine, backend, zone):
    """Make new sessions of the test database start in ``zone``."""
    database = engine.url.database
    with engine.begin() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql(f"ALTER DATABASE \"{database}\" SET timezone TO '{zone}'")
        else:
            conn.exec_driver_sql(f"SET GLOBAL time_zone = '{zone}'")
    try:
        yield
    finally:
        with engine.begin() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f'ALTER DATABASE "{database}" RESET timezone')
            else:
                conn.exec_driver_sql("SET GLOBAL time_zone = 'SYSTEM'")


def test_zoned_timestamps_are_utc_whatever_the_server_zone(engine, backend, app_config):
    if backend == "sqlite":
        pytest.skip("SQLite has no session time zone")
    from conftest import Client

    from connector import create_app

    zoned = "TIMESTAMP(3) WITH TIME ZONE" if backend == "postgresql" else "TIMESTAMP(3) NULL"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE stamps (_id VARCHAR(10) PRIMARY KEY, at {zoned})")
    with server_time_zone(
        engine, backend, "-05:00" if backend != "postgresql" else "America/New_York"
    ):
        app = create_app(app_config)
        try:
            client = Client(app)
            when = {"$date": "2021-01-02T03:04:05.678Z"}
            status, body = client.post(
                "/v3/items/insert", {"collectionId": "stamps", "items": [{"_id": "a", "at": when}]}
            )
            assert body["results"][0]["item"]["at"] == when
            assert client.items("stamps") == [{"_id": "a", "at": when}]
        finally:
            app.extensions["connector.engine"].dispose()
    with engine.connect() as conn:  # stored as that instant, read back in UTC
        conn.exec_driver_sql(
            "SET TIME ZONE 'UTC'" if backend == "postgresql" else "SET time_zone = '+00:00'"
        )
        stored = conn.exec_driver_sql("SELECT at FROM stamps").scalar()
    assert stored.strftime("%Y-%m-%d %H:%M:%S.%f")[:23] == "2021-01-02 03:04:05.678"
