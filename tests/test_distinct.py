"""query-distinct-values: distinct values of one field, ordered, filtered, paged,
case-sensitive and without nulls, on every backend.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from conftest import DATETIME, TEXT_ID, create_table

PATH = "/v3/items/query-distinct-values"

D1 = dt.datetime(2020, 5, 6, 7, 8, 9, 10000)
D2 = dt.datetime(2021, 1, 2, 3, 4, 5, 678000)
D3 = dt.datetime(2022, 12, 31, 23, 59, 59, 999000)

ROWS = [
    # _id, word, num, ratio, flag, at, day
    ("t1", "b", 3, 0.5, True, D2, D2.date()),
    ("t2", "a", 1, 1.5, False, D1, D1.date()),
    ("t3", "A", 3, 0.5, True, D2, D2.date()),
    ("t4", "B", 2, None, None, None, None),
    ("t5", None, None, 2.25, False, D3, D3.date()),
    ("t6", "a", 1, 1.5, True, D1, D1.date()),
    ("t7", "_", 2, 0.5, True, D2, None),
]
COLUMNS = ("_id", "word", "num", "ratio", "flag", "at", "day")

WORDS_ASC = ["A", "B", "_", "a", "b"]  # code-point order


@pytest.fixture
def things(engine):
    return create_table(
        engine,
        "things",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("word", sa.String(20)),
        sa.Column("num", sa.Integer),
        sa.Column("ratio", sa.Double),
        sa.Column("flag", sa.Boolean),
        sa.Column("at", DATETIME),
        sa.Column("day", sa.Date),
        sa.Column("note", sa.String(20)),
        rows=[dict(zip(COLUMNS, row, strict=True)) for row in ROWS],
    )


def distinct(client, field_name, collection_id="things", **kw):
    return client.post(PATH, {"collectionId": collection_id, "fieldName": field_name, **kw})


def values(client, field_name, **kw):
    status, body = distinct(client, field_name, **kw)
    assert status == 200, body
    assert set(body) == {"distinctValues", "pagingMetadata"}, body
    return body["distinctValues"]


# --- values of each type -------------------------------------------------------


def test_text_values_are_case_sensitive_in_code_point_order(things, wix):
    assert values(wix, "word", order="ASC") == WORDS_ASC
    assert values(wix, "word", order="DESC") == WORDS_ASC[::-1]


def test_number_values(things, wix):
    asc = values(wix, "num", order="ASC")
    assert asc == [1, 2, 3]
    assert all(type(v) is int for v in asc)
    assert values(wix, "num", order="DESC") == [3, 2, 1]
    assert values(wix, "ratio", order="ASC") == [0.5, 1.5, 2.25]
    assert values(wix, "ratio", order="DESC") == [2.25, 1.5, 0.5]


def test_boolean_values(things, wix):
    asc = values(wix, "flag", order="ASC")
    assert asc == [False, True]
    assert [type(v) for v in asc] == [bool, bool]
    desc = values(wix, "flag", order="DESC")
    assert desc == [True, False]
    assert [type(v) for v in desc] == [bool, bool]


def test_datetime_and_date_values(things, wix):
    dates = [
        {"$date": "2020-05-06T07:08:09.010Z"},
        {"$date": "2021-01-02T03:04:05.678Z"},
        {"$date": "2022-12-31T23:59:59.999Z"},
    ]
    assert values(wix, "at", order="ASC") == dates
    assert values(wix, "at", order="DESC") == dates[::-1]
    assert values(wix, "day", order="ASC") == ["2020-05-06", "2021-01-02", "2022-12-31"]


# --- filter, nulls, paging ---------------------------------------------------------


def test_with_a_filter(things, wix):
    assert values(wix, "word", order="ASC", filter={"num": {"$gte": 2}}) == ["A", "B", "_", "b"]
    assert values(wix, "word", order="DESC", filter={"flag": True}) == ["b", "a", "_", "A"]
    # The filter is case-sensitive too.
    assert values(wix, "num", order="ASC", filter={"word": "a"}) == [1]
    assert values(wix, "word", order="ASC", filter={"num": 99}) == []


def test_nulls_are_not_a_distinct_value(things, wix):
    assert None not in values(wix, "word", order="ASC")
    assert None not in values(wix, "day", order="DESC")
    status, body = distinct(wix, "note", order="ASC", returnTotalCount=True)
    assert (status, body) == (
        200,
        {"distinctValues": [], "pagingMetadata": {"count": 0, "offset": 0, "total": 0}},
    )


def test_paging(things, wix):
    status, body = distinct(wix, "word", order="ASC", paging={"limit": 2, "offset": 1})
    assert (status, body) == (
        200,
        {"distinctValues": ["B", "_"], "pagingMetadata": {"count": 2, "offset": 1}},
    )
    status, body = distinct(wix, "word", order="DESC", paging={"limit": 2, "offset": 4})
    assert (status, body) == (
        200,
        {"distinctValues": ["A"], "pagingMetadata": {"count": 1, "offset": 4}},
    )


def test_total_is_the_number_of_distinct_values(things, wix):
    status, body = distinct(
        wix, "word", order="ASC", paging={"limit": 2, "offset": 1}, returnTotalCount=True
    )
    assert (status, body) == (
        200,
        {"distinctValues": ["B", "_"], "pagingMetadata": {"count": 2, "offset": 1, "total": 5}},
    )
    status, body = distinct(
        wix, "num", order="ASC", paging={"limit": 1, "offset": 0}, returnTotalCount=True
    )
    assert (status, body) == (
        200,
        {"distinctValues": [1], "pagingMetadata": {"count": 1, "offset": 0, "total": 3}},
    )
    status, body = distinct(wix, "word", order="ASC", filter={"flag": False}, returnTotalCount=True)
    assert (status, body) == (
        200,
        {"distinctValues": ["a"], "pagingMetadata": {"count": 1, "offset": 0, "total": 1}},
    )


# --- errors and the seed's example ---------------------------------------------------


def test_unknown_field_name(things, wix):
    status, body = distinct(wix, "nope", order="ASC")
    assert status == 400, body
    assert set(body) == {"errorCode", "errorMessage", "data"}
    assert body["errorCode"] == "VALIDATION_ERROR"
    assert [(v["fieldPath"], v["rejectedValue"]) for v in body["data"]["violations"]] == [
        ("fieldName", "nope")
    ]


def test_seed_distinct_example(engine, wix):
    create_table(
        engine,
        "cities",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("country", sa.String(10)),
        rows=[
            {"_id": "1", "name": "New York", "country": "US"},
            {"_id": "2", "name": "Toronto", "country": "CA"},
            {"_id": "3", "name": "Chicago", "country": "US"},
            {"_id": "4", "name": "Montreal", "country": "CA"},
            {"_id": "5", "name": "Atlantis", "country": None},
        ],
    )
    status, body = wix.post(
        PATH,
        {
            "collectionId": "cities",
            "fieldName": "country",
            "order": "ASC",
            "paging": {"limit": 50, "offset": 0},
            "consistentRead": False,
            "returnTotalCount": False,
        },
    )
    assert (status, body) == (
        200,
        {"distinctValues": ["CA", "US"], "pagingMetadata": {"count": 2, "offset": 0}},
    )
