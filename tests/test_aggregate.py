"""aggregate: grouping, operations, initial and final filters, sort, paging and
the total of groups, on every backend.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import TEXT_ID, create_table

PATH = "/v3/items/aggregate"

SCORES = [
    {"_id": "s1", "team": "red", "player": "Ann", "points": 10, "ratio": 0.5},
    {"_id": "s2", "team": "red", "player": "Ben", "points": 20, "ratio": 1.5},
    {"_id": "s3", "team": "red", "player": "Cat", "points": 30, "ratio": 2.5},
    {"_id": "s4", "team": "blue", "player": "Dan", "points": 5, "ratio": 1.0},
    {"_id": "s5", "team": "blue", "player": "Eve", "points": 6, "ratio": 2.0},
    {"_id": "s6", "team": "green", "player": "Fay", "points": 7, "ratio": 0.25},
    {"_id": "s7", "team": "yellow", "player": "Gus", "points": 100, "ratio": 3.0},
]

SUM_AND_COUNT = [
    {"resultFieldName": "sumPoints", "sum": {"itemFieldName": "points"}},
    {"resultFieldName": "n", "itemCount": {}},
]


@pytest.fixture
def scores(engine):
    return create_table(
        engine,
        "scores",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("team", sa.String(20)),
        sa.Column("player", sa.String(50)),
        sa.Column("points", sa.Integer),
        sa.Column("ratio", sa.Double),
        rows=SCORES,
    )


def aggregate(client, collection_id="scores", operations=SUM_AND_COUNT, grouping=("team",), **kw):
    request = {
        "collectionId": collection_id,
        "aggregation": {"groupingFields": list(grouping), "operations": operations},
        **kw,
    }
    return client.post(PATH, request)


def ok(status, body):
    assert status == 200, body
    assert set(body) == {"items", "pagingMetadata"}, body
    return body


def assert_invalid(status, body, rejected_value):
    assert status == 400, body
    assert set(body) == {"errorCode", "errorMessage", "data"}, body
    assert body["errorCode"] == "VALIDATION_ERROR"
    violations = body["data"]["violations"]
    assert violations, body
    assert all(isinstance(v["fieldPath"], str) and v["fieldPath"] for v in violations)
    assert rejected_value in [v["rejectedValue"] for v in violations], violations


# --- the seed's example --------------------------------------------------------


def seed_cities():
    rows = []
    # US: 25 towns of 80,000 plus a capital; CA: 10 of 100,000 plus a capital;
    # MX: 5 towns and a capital - 6 cities, but only 5 once capitals are filtered out.
    for country, towns, population, capital in (
        ("US", 25, 80_000, 700_000),
        ("CA", 10, 100_000, 1_000_000),
        ("MX", 5, 50_000, 9_000_000),
    ):
        for i in range(towns):
            rows.append(
                {
                    "_id": f"{country}-{i:02d}",
                    "name": f"{country} town {i}",
                    "country": country,
                    "population": population,
                    "isCapital": False,
                }
            )
        rows.append(
            {
                "_id": f"{country}-capital",
                "name": f"{country} capital",
                "country": country,
                "population": capital,
                "isCapital": True,
            }
        )
    return rows


def test_seed_aggregate_example(engine, wix):
    create_table(
        engine,
        "cities",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("country", sa.String(10)),
        sa.Column("population", sa.Integer),
        sa.Column("isCapital", sa.Boolean),
        rows=seed_cities(),
    )
    status, body = wix.post(
        PATH,
        {
            "collectionId": "cities",
            "initialFilter": {"isCapital": False},
            "aggregation": {
                "groupingFields": ["country"],
                "operations": [
                    {"resultFieldName": "sumPopulation", "sum": {"itemFieldName": "population"}},
                    {"resultFieldName": "countOfCities", "itemCount": {}},
                ],
            },
            "finalFilter": {"countOfCities": {"$gt": 5.0}},
            "sort": [{"fieldName": "sumPopulation", "order": "ASC"}],
            "paging": {"limit": 50, "offset": 0},
            "consistentRead": False,
            "returnTotalCount": True,
        },
    )
    assert status == 200, body
    assert body == {
        "items": [
            {"country": "CA", "sumPopulation": 1_000_000, "countOfCities": 10},
            {"country": "US", "sumPopulation": 2_000_000, "countOfCities": 25},
        ],
        "pagingMetadata": {"count": 2, "offset": 0, "total": 2},
    }
    for item in body["items"]:
        # sum of an integer column and a count are integers.
        assert type(item["sumPopulation"]) is int
        assert type(item["countOfCities"]) is int


# --- operations ------------------------------------------------------------------


def test_average_min_max(scores, wix):
    body = ok(
        *aggregate(
            wix,
            operations=[
                {"resultFieldName": "avgPoints", "average": {"itemFieldName": "points"}},
                {"resultFieldName": "minPoints", "min": {"itemFieldName": "points"}},
                {"resultFieldName": "maxPoints", "max": {"itemFieldName": "points"}},
                {"resultFieldName": "avgRatio", "average": {"itemFieldName": "ratio"}},
                {"resultFieldName": "minRatio", "min": {"itemFieldName": "ratio"}},
                {"resultFieldName": "maxRatio", "max": {"itemFieldName": "ratio"}},
            ],
        )
    )
    assert body["items"] == [
        {
            "team": "blue",
            "avgPoints": 5.5,
            "minPoints": 5,
            "maxPoints": 6,
            "avgRatio": 1.5,
            "minRatio": 1.0,
            "maxRatio": 2.0,
        },
        {
            "team": "green",
            "avgPoints": 7.0,
            "minPoints": 7,
            "maxPoints": 7,
            "avgRatio": 0.25,
            "minRatio": 0.25,
            "maxRatio": 0.25,
        },
        {
            "team": "red",
            "avgPoints": 20.0,
            "minPoints": 10,
            "maxPoints": 30,
            "avgRatio": 1.5,
            "minRatio": 0.5,
            "maxRatio": 2.5,
        },
        {
            "team": "yellow",
            "avgPoints": 100.0,
            "minPoints": 100,
            "maxPoints": 100,
            "avgRatio": 3.0,
            "minRatio": 3.0,
            "maxRatio": 3.0,
        },
    ]
    assert body["pagingMetadata"] == {"count": 4, "offset": 0}
    assert all(type(item["avgPoints"]) is float for item in body["items"])


def test_sum_of_an_integer_column_is_an_integer(scores, wix):
    body = ok(*aggregate(wix))
    assert body["items"] == [
        {"team": "blue", "sumPoints": 11, "n": 2},
        {"team": "green", "sumPoints": 7, "n": 1},
        {"team": "red", "sumPoints": 60, "n": 3},
        {"team": "yellow", "sumPoints": 100, "n": 1},
    ]
    assert all(type(item["sumPoints"]) is int for item in body["items"])
    assert all(type(item["n"]) is int for item in body["items"])


@pytest.mark.parametrize("aggregation_extra", [{}, {"groupingFields": []}], ids=["absent", "empty"])
def test_no_grouping_fields_is_one_group_over_the_collection(scores, wix, aggregation_extra):
    status, body = wix.post(
        PATH,
        {
            "collectionId": "scores",
            "aggregation": {
                "operations": [
                    *SUM_AND_COUNT,
                    {"resultFieldName": "top", "max": {"itemFieldName": "points"}},
                ],
                **aggregation_extra,
            },
            "returnTotalCount": True,
        },
    )
    assert status == 200, body
    assert body == {
        "items": [{"sumPoints": 178, "n": 7, "top": 100}],
        "pagingMetadata": {"count": 1, "offset": 0, "total": 1},
    }


def test_initial_filter(scores, wix):
    body = ok(*aggregate(wix, initialFilter={"points": {"$lt": 25}}))
    assert body["items"] == [
        {"team": "blue", "sumPoints": 11, "n": 2},
        {"team": "green", "sumPoints": 7, "n": 1},
        {"team": "red", "sumPoints": 30, "n": 2},
    ]


def test_count_is_an_alias_of_item_count(scores, wix):
    body = ok(*aggregate(wix, operations=[{"resultFieldName": "howMany", "count": {}}]))
    assert body["items"] == [
        {"team": "blue", "howMany": 2},
        {"team": "green", "howMany": 1},
        {"team": "red", "howMany": 3},
        {"team": "yellow", "howMany": 1},
    ]


def test_final_filter_on_a_grouping_field(scores, wix):
    body = ok(
        *aggregate(wix, finalFilter={"team": {"$in": ["red", "yellow"]}}, returnTotalCount=True)
    )
    assert body == {
        "items": [
            {"team": "red", "sumPoints": 60, "n": 3},
            {"team": "yellow", "sumPoints": 100, "n": 1},
        ],
        "pagingMetadata": {"count": 2, "offset": 0, "total": 2},
    }


def test_final_filter_on_results_and_grouping_fields_together(scores, wix):
    body = ok(*aggregate(wix, finalFilter={"n": {"$lt": 3}, "team": {"$ne": "green"}}))
    assert body["items"] == [
        {"team": "blue", "sumPoints": 11, "n": 2},
        {"team": "yellow", "sumPoints": 100, "n": 1},
    ]


def test_sort_descending(scores, wix):
    by_sum = ok(*aggregate(wix, sort=[{"fieldName": "sumPoints", "order": "DESC"}]))
    assert [item["team"] for item in by_sum["items"]] == ["yellow", "red", "blue", "green"]
    by_team = ok(*aggregate(wix, sort=[{"fieldName": "team", "order": "DESC"}]))
    assert [item["team"] for item in by_team["items"]] == ["yellow", "red", "green", "blue"]


def test_sort_by_several_keys(scores, wix):
    body = ok(
        *aggregate(
            wix,
            operations=[{"resultFieldName": "n", "itemCount": {}}],
            sort=[{"fieldName": "n", "order": "ASC"}, {"fieldName": "team", "order": "DESC"}],
        )
    )
    assert body["items"] == [
        {"team": "yellow", "n": 1},
        {"team": "green", "n": 1},
        {"team": "blue", "n": 2},
        {"team": "red", "n": 3},
    ]


def test_paging_and_total(scores, wix):
    body = ok(*aggregate(wix, paging={"limit": 2, "offset": 1}, returnTotalCount=True))
    assert body == {
        "items": [
            {"team": "green", "sumPoints": 7, "n": 1},
            {"team": "red", "sumPoints": 60, "n": 3},
        ],
        "pagingMetadata": {"count": 2, "offset": 1, "total": 4},
    }
    body = ok(*aggregate(wix, paging={"limit": 2, "offset": 3}))
    assert body == {
        "items": [{"team": "yellow", "sumPoints": 100, "n": 1}],
        "pagingMetadata": {"count": 1, "offset": 3},
    }
    body = ok(*aggregate(wix, paging={"limit": 2, "offset": 10}, returnTotalCount=True))
    assert body == {"items": [], "pagingMetadata": {"count": 0, "offset": 10, "total": 4}}


def test_text_grouping_is_case_sensitive(engine, wix):
    create_table(
        engine,
        "tags",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("tag", sa.String(20)),
        sa.Column("n", sa.Integer),
        rows=[
            {"_id": "1", "tag": "a", "n": 1},
            {"_id": "2", "tag": "A", "n": 10},
            {"_id": "3", "tag": "a", "n": 100},
            {"_id": "4", "tag": "b", "n": 1000},
            {"_id": "5", "tag": "B", "n": 10000},
        ],
    )
    body = ok(
        *aggregate(
            wix,
            "tags",
            grouping=["tag"],
            operations=[
                {"resultFieldName": "total", "sum": {"itemFieldName": "n"}},
                {"resultFieldName": "count", "itemCount": {}},
            ],
            returnTotalCount=True,
        )
    )
    # Code-point order: "A" < "B" < "a" < "b".
    assert body == {
        "items": [
            {"tag": "A", "total": 10, "count": 1},
            {"tag": "B", "total": 10000, "count": 1},
            {"tag": "a", "total": 101, "count": 2},
            {"tag": "b", "total": 1000, "count": 1},
        ],
        "pagingMetadata": {"count": 4, "offset": 0, "total": 4},
    }


# --- invalid aggregations ---------------------------------------------------------


@pytest.mark.parametrize("op", ["sum", "average", "min", "max"])
def test_unknown_item_field_name(scores, wix, op):
    status, body = aggregate(
        wix, operations=[{"resultFieldName": "x", op: {"itemFieldName": "nope"}}]
    )
    assert_invalid(status, body, "nope")


def test_unknown_grouping_field(scores, wix):
    status, body = aggregate(wix, grouping=["nope"])
    assert_invalid(status, body, "nope")


@pytest.mark.parametrize("op", ["sum", "average"])
def test_sum_or_average_over_a_text_field(scores, wix, op):
    status, body = aggregate(
        wix, operations=[{"resultFieldName": "x", op: {"itemFieldName": "player"}}]
    )
    assert_invalid(status, body, "player")


def test_result_name_colliding_with_a_grouping_field(scores, wix):
    status, body = aggregate(
        wix, operations=[{"resultFieldName": "team", "sum": {"itemFieldName": "points"}}]
    )
    assert_invalid(status, body, "team")


def test_sort_by_a_name_that_is_neither_grouping_field_nor_result(scores, wix):
    # "points" is a column, but not a field of the aggregated items.
    status, body = aggregate(wix, sort=[{"fieldName": "points", "order": "ASC"}])
    assert_invalid(status, body, "points")
