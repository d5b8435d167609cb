"""The filter language, by example, through /v3/items/query and /v3/items/count.

Every test builds the same ``people`` table (see :func:`create_people`) and
checks the exact ``_id``s that filters select, on SQLite, PostgreSQL and
MariaDB. Related filters are grouped into one test that reports every case
that went wrong at once (a dict of ``filter -> (expected, got)``).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from conftest import DATETIME, TEXT_ID, TIME, create_table

# --- the table ---------------------------------------------------------------

ALL = [f"p{n:02d}" for n in range(1, 13)]


def _dt(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# fmt: off
PEOPLE = [
    dict(_id="p01", name="alice", age=30, score=1.5, active=True,
         born=_d("1990-01-15"), seen=_dt("2021-01-02 03:04:05.678"), at=_t("08:30:00"),
         profile={"city": "Paris", "zip": 75001, "tags": ["a", "b"]}, note="50% off"),
    dict(_id="p02", name="Alice", age=25, score=2.25, active=False,
         born=_d("1985-06-30"), seen=_dt("2020-06-15 12:00:00"), at=_t("12:00:00"),
         profile={"city": "paris", "zip": 75002, "tags": ["b", "c"]}, note="500 items"),
    dict(_id="p03", name="ALICE", age=40, score=-3.0, active=True,
         born=_d("2000-02-29"), seen=_dt("2022-12-31 23:59:59.999"), at=_t("23:59:59.500"),
         profile={"city": "Lyon", "zip": 69001, "tags": ["a"]}, note="snake_case"),
    dict(_id="p04", name="bob", age=None, score=0.0, active=None,
         born=None, seen=None, at=None,
         profile=None, note="snakeXcase"),
    dict(_id="p05", name="Émile", age=30, score=10.0, active=False,
         born=_d("1990-01-15"), seen=_dt("2021-01-02 03:04:05.678"), at=_t("08:30:00"),
         profile=["x", 1, True], note="C:\\temp"),
    dict(_id="p06", name="émile", age=18, score=None, active=True,
         born=_d("1999-12-31"), seen=_dt("2021-01-02 03:04:05.679"), at=_t("00:00:00"),
         profile=["1", "y"], note="C:temp"),
    dict(_id="p07", name="o'brien", age=65, score=99.5, active=True,
         born=_d("1815-12-10"), seen=_dt("2019-03-01 00:00:00"), at=_t("17:45:30.250"),
         profile={"city": "Parma", "zip": 43121, "tags": []}, note="Ada Lovelace"),
    dict(_id="p08", name=None, age=55, score=None, active=None,
         born=None, seen=None, at=None,
         profile=[], note="ada-lovelace"),
    dict(_id="p09", name="", age=0, score=0.5, active=False,
         born=_d("2010-05-05"), seen=_dt("2023-07-04 10:00:00"), at=_t("06:00:00"),
         profile={"city": "PARIS", "zip": 75116}, note="Ada Lovelace Jr"),
    dict(_id="p10", name="Zed", age=None, score=3.75, active=True,
         born=_d("1970-01-01"), seen=_dt("2021-01-02 03:04:05.677"), at=_t("12:00:00.001"),
         profile={"country": "FR"}, note=None),
    dict(_id="p11", name="abc", age=7, score=None, active=False,
         born=None, seen=None, at=None,
         profile=None, note=""),
    dict(_id="p12", name="a.c", age=12, score=2.25, active=None,
         born=_d("2001-09-09"), seen=_dt("2024-02-29 08:00:00"), at=_t("20:00:00"),
         profile={"city": "Berlin", "zip": 10115, "tags": ["1", 1]}, note="Ada_Lovelace"),
]
# fmt: on


def create_people(engine):
    """The ``people`` table with the rows of ``PEOPLE`` (SQL NULL for None, also in JSON)."""
    return create_table(
        engine,
        "people",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("age", sa.Integer),
        sa.Column("score", sa.Double),
        sa.Column("active", sa.Boolean),
        sa.Column("born", sa.Date),
        sa.Column("seen", DATETIME),
        sa.Column("at", TIME),
        sa.Column("profile", sa.JSON(none_as_null=True)),
        sa.Column("note", sa.String(200)),
        rows=PEOPLE,
    )


@pytest.fixture
def people(engine):
    create_people(engine)
    return "people"


# --- helpers -------------------------------------------------------------------


def query_ids(wix, filter_):
    """The sorted ``_id``s ``filter_`` selects, or ``(status, body)`` when it fails."""
    status, body = wix.query("people", {"filter": filter_, "paging": {"limit": 1000}})
    if status != 200:
        return status, body
    return [item["_id"] for item in body["items"]]


def mismatches(wix, cases):
    """``{filter: (expected, got)}`` for every case whose ids differ from the expected ones."""
    wrong = {}
    for filter_, expected in cases:
        got = query_ids(wix, filter_)
        if got != expected:
            wrong[json.dumps(filter_, ensure_ascii=False)] = (expected, got)
    return wrong


def but(*excluded):
    """Every id except ``excluded``."""
    return [i for i in ALL if i not in excluded]


def assert_filter_violation(status, body, field_path, *rejected):
    """A 400 VALIDATION_ERROR whose only violation names ``field_path`` (and ``rejected``)."""
    assert status == 400, body
    assert body["errorCode"] == "VALIDATION_ERROR", body
    assert isinstance(body["errorMessage"], str) and body["errorMessage"], body
    assert set(body["data"]) == {"violations"}, body
    violations = body["data"]["violations"]
    assert [v["fieldPath"] for v in violations] == [field_path], body
    assert all("rejectedValue" in v and isinstance(v["message"], str) for v in violations), body
    if rejected:
        assert violations[0]["rejectedValue"] == rejected[0], body


# --- the basics ------------------------------------------------------------------


def test_empty_filter_selects_every_item(wix, people):
    assert query_ids(wix, {}) == ALL


def test_implicit_eq_and_several_keys_and_operators(wix, people):
    cases = [
        ({"age": 30}, ["p01", "p05"]),
        ({"age": {"$eq": 30}}, ["p01", "p05"]),
        ({"active": True, "age": 30}, ["p01"]),
        ({"active": False, "age": 30, "name": "Émile"}, ["p05"]),
        ({"active": True, "age": 25}, []),
        ({"age": {"$gt": 10, "$lt": 40}}, ["p01", "p02", "p05", "p06", "p12"]),
        ({"age": {"$gte": 18, "$lte": 30, "$ne": 25}}, ["p01", "p05", "p06"]),
        ({"name": {"$startsWith": "a", "$ne": "alice"}}, ["p02", "p03", "p11", "p12"]),
        ({"score": {"$gte": 0, "$lt": 2.25}, "active": {"$ne": True}}, ["p04", "p09"]),
    ]
    assert mismatches(wix, cases) == {}


def test_eq_null_ne_and_exists(wix, people):
    cases = [
        ({"name": None}, ["p08"]),
        ({"name": {"$eq": None}}, ["p08"]),
        ({"age": None}, ["p04", "p10"]),
        ({"active": None}, ["p04", "p08", "p12"]),
        ({"profile": None}, ["p04", "p11"]),
        ({"name": {"$ne": None}}, but("p08")),
        # $ne also matches the rows where the field is null
        ({"name": {"$ne": "alice"}}, but("p01")),
        ({"age": {"$ne": 30}}, but("p01", "p05")),
        ({"active": {"$ne": True}}, ["p02", "p04", "p05", "p08", "p09", "p11", "p12"]),
        ({"note": {"$ne": ""}}, but("p11")),
        # comparisons with null match nothing
        ({"age": {"$gt": None}}, []),
        ({"name": {"$lte": None}}, []),
        ({"age": {"$exists": True}}, but("p04", "p10")),
        ({"age": {"$exists": False}}, ["p04", "p10"]),
        ({"note": {"$exists": True}}, but("p10")),
        ({"note": {"$exists": False}}, ["p10"]),
        ({"profile": {"$exists": True}}, but("p04", "p11")),
        ({"profile": {"$exists": False}}, ["p04", "p11"]),
        ({"born": {"$exists": False}}, ["p04", "p08", "p11"]),
        ({"active": {"$exists": False}}, ["p04", "p08", "p12"]),
    ]
    assert mismatches(wix, cases) == {}


def test_is_empty(wix, people):
    cases = [
        ({"name": {"$isEmpty": True}}, ["p08", "p09"]),
        ({"name": {"$isEmpty": False}}, but("p08", "p09")),
        ({"note": {"$isEmpty": True}}, ["p10", "p11"]),
        ({"note": {"$isEmpty": False}}, but("p10", "p11")),
        ({"age": {"$isEmpty": True}}, ["p04", "p10"]),
        # a JSON field: null or an empty array ({"tags": []} inside an object is not empty)
        ({"profile": {"$isEmpty": True}}, ["p04", "p08", "p11"]),
        ({"profile": {"$isEmpty": False}}, but("p04", "p08", "p11")),
    ]
    assert mismatches(wix, cases) == {}


# --- comparisons per type --------------------------------------------------------


def test_comparisons_on_text_are_case_sensitive_by_code_point(wix, people):
    # code-point order: "" < "ALICE" < "Alice" < "Zed" < "a.c" < "abc" < "alice" < "bob"
    #                   < "o'brien" < "Émile" < "émile"
    cases = [
        ({"name": "alice"}, ["p01"]),
        ({"name": "Alice"}, ["p02"]),
        ({"name": "ALICE"}, ["p03"]),
        ({"name": "émile"}, ["p06"]),
        ({"name": "o'brien"}, ["p07"]),
        ({"name": ""}, ["p09"]),
        ({"name": "ALİCE"}, []),
        ({"name": {"$eq": "Bob"}}, []),
        ({"name": {"$ne": "ALICE"}}, but("p03")),
        ({"name": {"$gt": "Z"}}, ["p01", "p04", "p05", "p06", "p07", "p10", "p11", "p12"]),
        ({"name": {"$gt": "z"}}, ["p05", "p06"]),
        ({"name": {"$gt": "Émile"}}, ["p06"]),
        ({"name": {"$gte": "alice"}}, ["p01", "p04", "p05", "p06", "p07"]),
        ({"name": {"$gte": "a"}}, ["p01", "p04", "p05", "p06", "p07", "p11", "p12"]),
        ({"name": {"$lt": "a"}}, ["p02", "p03", "p09", "p10"]),
        ({"name": {"$lt": "Alice"}}, ["p03", "p09"]),
        ({"name": {"$lte": "Alice"}}, ["p02", "p03", "p09"]),
        ({"name": {"$lte": "ALICE"}}, ["p03", "p09"]),
        ({"name": {"$in": ["alice", "BOB"]}}, ["p01"]),
        ({"name": {"$in": ["Alice", "bob", "Émile"]}}, ["p02", "p04", "p05"]),
        ({"name": {"$nin": ["alice", "Alice"]}}, but("p01", "p02")),
        ({"profile.city": "Paris"}, ["p01"]),
        ({"profile.city": {"$in": ["paris", "Lyon"]}}, ["p02", "p03"]),
    ]
    assert mismatches(wix, cases) == {}


def test_text_equality_is_exact_about_trailing_spaces(wix, engine):
    # MariaDB's PAD SPACE collations compare "bob " equal to "bob"; the filter must not.
    people = create_people(engine)
    with engine.begin() as conn:
        conn.execute(people.insert(), [{"_id": "p13", "name": "bob "}])
    cases = [
        ({"name": "bob"}, ["p04"]),
        ({"name": "bob "}, ["p13"]),
        ({"name": {"$ne": "bob"}}, [*but("p04"), "p13"]),
        ({"name": {"$in": ["bob"]}}, ["p04"]),
        ({"name": {"$nin": ["bob "]}}, ALL),
        ({"name": {"$hasSome": ["bob "]}}, ["p13"]),
        ({"name": {"$gt": "bob"}}, ["p05", "p06", "p07", "p13"]),
        ({"name": {"$lte": "bob"}}, ["p01", "p02", "p03", "p04", "p09", "p10", "p11", "p12"]),
    ]
    assert mismatches(wix, cases) == {}


def test_comparisons_on_numbers(wix, people):
    cases = [
        ({"age": {"$eq": 0}}, ["p09"]),
        ({"age": {"$ne": 0}}, but("p09")),
        ({"age": {"$gt": 30}}, ["p03", "p07", "p08"]),
        ({"age": {"$gt": 29.5}}, ["p01", "p03", "p05", "p07", "p08"]),
        ({"age": {"$gte": 30}}, ["p01", "p03", "p05", "p07", "p08"]),
        ({"age": {"$lt": 18}}, ["p09", "p11", "p12"]),
        ({"age": {"$lte": 18}}, ["p06", "p09", "p11", "p12"]),
        ({"score": 2.25}, ["p02", "p12"]),
        ({"score": 0}, ["p04"]),
        ({"score": {"$gt": 2.25}}, ["p05", "p07", "p10"]),
        ({"score": {"$gte": 2.25}}, ["p02", "p05", "p07", "p10", "p12"]),
        ({"score": {"$lt": 0}}, ["p03"]),
        ({"score": {"$lte": 0.5}}, ["p03", "p04", "p09"]),
        ({"score": {"$ne": 2.25}}, but("p02", "p12")),
    ]
    assert mismatches(wix, cases) == {}


def test_comparisons_on_dates(wix, people):
    # born: p07 1815-12-10 < p10 1970-01-01 < p02 1985-06-30 < p01 = p05 1990-01-15
    #       < p06 1999-12-31 < p03 2000-02-29 < p12 2001-09-09 < p09 2010-05-05
    as_date = {"$date": "1990-01-15T00:00:00.000Z"}
    cases = [
        ({"born": "1990-01-15"}, ["p01", "p05"]),
        ({"born": as_date}, ["p01", "p05"]),
        ({"born": {"$eq": {"$date": "1990-01-15"}}}, ["p01", "p05"]),
        ({"born": {"$ne": "1990-01-15"}}, but("p01", "p05")),
        ({"born": {"$ne": as_date}}, but("p01", "p05")),
        ({"born": {"$gt": "1999-12-31"}}, ["p03", "p09", "p12"]),
        ({"born": {"$gt": {"$date": "1999-12-31T00:00:00.000Z"}}}, ["p03", "p09", "p12"]),
        ({"born": {"$gte": "1999-12-31"}}, ["p03", "p06", "p09", "p12"]),
        ({"born": {"$gte": {"$date": "1999-12-31T00:00:00.000Z"}}}, ["p03", "p06", "p09", "p12"]),
        ({"born": {"$lt": "1970-01-01"}}, ["p07"]),
        ({"born": {"$lt": {"$date": "1970-01-01T00:00:00.000Z"}}}, ["p07"]),
        ({"born": {"$lte": "1970-01-01"}}, ["p07", "p10"]),
        ({"born": {"$lte": {"$date": "1970-01-01T00:00:00.000Z"}}}, ["p07", "p10"]),
        ({"born": {"$gt": "1985-06-30", "$lt": "2000-02-29"}}, ["p01", "p05", "p06"]),
    ]
    assert mismatches(wix, cases) == {}


def test_comparisons_on_datetimes(wix, people):
    # seen: p07 2019-03-01 < p02 2020-06-15 < p10 2021-01-02T03:04:05.677
    #       < p01 = p05 ...05.678 < p06 ...05.679 < p03 2022-12-31 < p09 2023 < p12 2024
    at = {"$date": "2021-01-02T03:04:05.678Z"}
    iso_text = "2021-01-02T03:04:05.678Z"
    cases = [
        ({"seen": at}, ["p01", "p05"]),
        ({"seen": iso_text}, ["p01", "p05"]),
        ({"seen": "2021-01-02T04:04:05.678+01:00"}, ["p01", "p05"]),
        ({"seen": {"$eq": at}}, ["p01", "p05"]),
        ({"seen": {"$ne": at}}, but("p01", "p05")),
        ({"seen": {"$ne": iso_text}}, but("p01", "p05")),
        ({"seen": {"$gt": at}}, ["p03", "p06", "p09", "p12"]),
        ({"seen": {"$gt": iso_text}}, ["p03", "p06", "p09", "p12"]),
        ({"seen": {"$gte": at}}, ["p01", "p03", "p05", "p06", "p09", "p12"]),
        ({"seen": {"$gte": iso_text}}, ["p01", "p03", "p05", "p06", "p09", "p12"]),
        ({"seen": {"$lt": at}}, ["p02", "p07", "p10"]),
        ({"seen": {"$lt": iso_text}}, ["p02", "p07", "p10"]),
        ({"seen": {"$lte": at}}, ["p01", "p02", "p05", "p07", "p10"]),
        ({"seen": {"$lte": iso_text}}, ["p01", "p02", "p05", "p07", "p10"]),
        ({"seen": {"$gte": {"$date": "2022-12-31T23:59:59.999Z"}}}, ["p03", "p09", "p12"]),
        ({"seen": {"$gt": {"$date": "2022-12-31T23:59:59.999Z"}}}, ["p09", "p12"]),
    ]
    assert mismatches(wix, cases) == {}


def test_comparisons_on_times(wix, people):
    # at: p06 00:00 < p09 06:00 < p01 = p05 08:30 < p02 12:00 < p10 12:00:00.001
    #     < p07 17:45:30.250 < p12 20:00 < p03 23:59:59.500
    cases = [
        ({"at": "12:00:00.000"}, ["p02"]),
        ({"at": "12:00:00"}, ["p02"]),
        ({"at": {"$eq": "08:30:00.000"}}, ["p01", "p05"]),
        ({"at": {"$ne": "12:00:00.000"}}, but("p02")),
        ({"at": {"$gt": "12:00:00.000"}}, ["p03", "p07", "p10", "p12"]),
        ({"at": {"$gte": "12:00:00.000"}}, ["p02", "p03", "p07", "p10", "p12"]),
        ({"at": {"$lt": "12:00:00.000"}}, ["p01", "p05", "p06", "p09"]),
        ({"at": {"$lte": "12:00:00.000"}}, ["p01", "p02", "p05", "p06", "p09"]),
        ({"at": {"$gte": "17:45:30.250", "$lt": "23:59:59.500"}}, ["p07", "p12"]),
        ({"at": {"$gt": "23:59:59.499"}}, ["p03"]),
    ]
    assert mismatches(wix, cases) == {}


def test_comparisons_on_booleans(wix, people):
    cases = [
        ({"active": True}, ["p01", "p03", "p06", "p07", "p10"]),
        ({"active": False}, ["p02", "p05", "p09", "p11"]),
        ({"active": {"$ne": False}}, ["p01", "p03", "p04", "p06", "p07", "p08", "p10", "p12"]),
        ({"active": {"$in": [False]}}, ["p02", "p05", "p09", "p11"]),
        ({"active": {"$nin": [True]}}, ["p02", "p04", "p05", "p08", "p09", "p11", "p12"]),
    ]
    assert mismatches(wix, cases) == {}


def test_in_and_nin(wix, people):
    cases = [
        ({"age": {"$in": [30, 40]}}, ["p01", "p03", "p05"]),
        ({"age": {"$in": [30, 99]}}, ["p01", "p05"]),
        ({"age": {"$in": []}}, []),
        # $nin also matches nulls
        ({"age": {"$nin": [30, 40]}}, but("p01", "p03", "p05")),
        ({"age": {"$nin": []}}, ALL),
        # null inside the list: like $eq null / $ne null
        ({"age": {"$in": [30, None]}}, ["p01", "p04", "p05", "p10"]),
        ({"age": {"$nin": [30, None]}}, but("p01", "p04", "p05", "p10")),
        ({"score": {"$in": [2.25, -3]}}, ["p02", "p03", "p12"]),
        (
            {"born": {"$in": ["1990-01-15", {"$date": "2000-02-29T00:00:00.000Z"}]}},
            ["p01", "p03", "p05"],
        ),
        (
            {"born": {"$nin": ["1990-01-15", {"$date": "2000-02-29T00:00:00.000Z"}]}},
            but("p01", "p03", "p05"),
        ),
        (
            {"seen": {"$in": [{"$date": "2021-01-02T03:04:05.678Z"}, "2019-03-01T00:00:00.000Z"]}},
            ["p01", "p05", "p07"],
        ),
        ({"at": {"$in": ["08:30:00.000", "00:00:00.000"]}}, ["p01", "p05", "p06"]),
        ({"at": {"$nin": ["08:30:00.000", "00:00:00.000"]}}, but("p01", "p05", "p06")),
        ({"note": {"$in": ["50% off", "C:\\temp", "Ada_Lovelace"]}}, ["p01", "p05", "p12"]),
        ({"note": {"$in": ["50_ off", "C:temp"]}}, ["p06"]),
    ]
    assert mismatches(wix, cases) == {}


# --- text matching -----------------------------------------------------------------


def test_contains_starts_ends_with_ignore_case(wix, people):
    cases = [
        ({"name": {"$contains": "LIC"}}, ["p01", "p02", "p03"]),
        ({"name": {"$contains": "lic"}}, ["p01", "p02", "p03"]),
        ({"name": {"$startsWith": "A"}}, ["p01", "p02", "p03", "p11", "p12"]),
        ({"name": {"$startsWith": "al"}}, ["p01", "p02", "p03"]),
        ({"name": {"$endsWith": "CE"}}, ["p01", "p02", "p03"]),
        ({"name": {"$endsWith": "lic"}}, []),
        ({"name": {"$contains": "O'B"}}, ["p07"]),
        ({"name": {"$startsWith": "é"}}, ["p05", "p06"]),
        ({"name": {"$startsWith": "É"}}, ["p05", "p06"]),
        ({"name": {"$contains": "ÉMI"}}, ["p05", "p06"]),
        ({"name": {"$endsWith": "MILE"}}, ["p05", "p06"]),
        ({"note": {"$contains": "LOVELACE"}}, ["p07", "p08", "p09", "p12"]),
        ({"note": {"$endsWith": "jr"}}, ["p09"]),
        ({"profile.city": {"$startsWith": "par"}}, ["p01", "p02", "p07", "p09"]),
        ({"profile.city": {"$contains": "AR"}}, ["p01", "p02", "p07", "p09"]),
        ({"profile.city": {"$endsWith": "Is"}}, ["p01", "p02", "p09"]),
    ]
    assert mismatches(wix, cases) == {}


def test_like_wildcards_in_user_text_match_literally(wix, people):
    cases = [
        ({"note": {"$contains": "50%"}}, ["p01"]),
        ({"note": {"$startsWith": "50%"}}, ["p01"]),
        ({"note": {"$contains": "%"}}, ["p01"]),
        ({"note": {"$endsWith": "%"}}, []),
        ({"note": {"$contains": "e_c"}}, ["p03"]),
        ({"note": {"$endsWith": "_case"}}, ["p03"]),
        ({"note": {"$contains": "_"}}, ["p03", "p12"]),
        ({"note": {"$startsWith": "_"}}, []),
        ({"note": {"$contains": "C:\\"}}, ["p05"]),
        ({"note": {"$contains": ":\\t"}}, ["p05"]),
        ({"note": {"$startsWith": "c:\\"}}, ["p05"]),
        ({"note": {"$endsWith": "\\TEMP"}}, ["p05"]),
        ({"note": {"$contains": "\\"}}, ["p05"]),
        ({"note": {"$contains": "\\%"}}, []),
        ({"note": {"$contains": "%_"}}, []),
        ({"name": {"$contains": "."}}, ["p12"]),
        ({"name": {"$contains": "'"}}, ["p07"]),
    ]
    assert mismatches(wix, cases) == {}


def test_matches(wix, people):
    def matches(*spec, ignore_case=False):
        parts = [{"type": kind, "value": value} for kind, value in spec]
        return {"$matches": {"ignoreCase": ignore_case, "spec": parts}}

    cases = [
        ({"name": matches(("literal", "alice"))}, ["p01"]),
        ({"name": matches(("literal", "alice"), ignore_case=True)}, ["p01", "p02", "p03"]),
        ({"name": matches(("anyOf", "aA"), ("literal", "lice"))}, ["p01", "p02"]),
        (
            {"name": matches(("anyOf", "aA"), ("literal", "lice"), ignore_case=True)},
            ["p01", "p02", "p03"],
        ),
        # anchored: a part of the value is not enough
        ({"name": matches(("literal", "lic"), ignore_case=True)}, []),
        ({"name": matches(("literal", "alic"))}, []),
        ({"name": matches(("literal", "lice"))}, []),
        ({"name": matches(("literal", "bo"))}, []),
        ({"name": matches(("literal", "bob"))}, ["p04"]),
        # anyOf is exactly one character
        ({"name": matches(("literal", "a"), ("anyOf", "bl"), ("literal", "c"))}, ["p11"]),
        ({"name": matches(("literal", "a"), ("anyOf", "bl"))}, []),
        # regex characters match literally
        ({"name": matches(("literal", "a.c"))}, ["p12"]),
        ({"name": matches(("literal", "a"), ("anyOf", "^."), ("literal", "c"))}, ["p12"]),
        ({"name": matches(("literal", "o'brien"))}, ["p07"]),
        ({"note": matches(("literal", ".*"))}, []),
        ({"note": matches(("literal", "50% off"))}, ["p01"]),
        ({"note": matches(("literal", "snake"), ("anyOf", "_"), ("literal", "case"))}, ["p03"]),
        ({"note": matches(("literal", "C:\\temp"))}, ["p05"]),
        ({"note": matches(("literal", "C:"), ("anyOf", "\\/"), ("literal", "temp"))}, ["p05"]),
        (
            {
                "note": matches(
                    ("literal", "ada"), ("anyOf", " -"), ("literal", "lovelace"), ignore_case=True
                )
            },
            ["p07", "p08"],
        ),
        (
            {"note": matches(("literal", "ada"), ("anyOf", " -"), ("literal", "lovelace"))},
            ["p08"],
        ),
    ]
    assert mismatches(wix, cases) == {}


def test_urlized(wix, people):
    cases = [
        ({"note": {"$urlized": "ada-lovelace"}}, ["p07", "p08"]),
        ({"note": {"$urlized": ["ada", "lovelace"]}}, ["p07", "p08"]),
        ({"note": {"$urlized": "ada"}}, []),
        ({"note": {"$urlized": ["lovelace"]}}, []),
        ({"note": {"$urlized": "ada-lovelace-jr"}}, ["p09"]),
        ({"name": {"$urlized": "alice"}}, ["p01", "p02", "p03"]),
    ]
    assert mismatches(wix, cases) == {}


# --- $hasSome / $hasAll ------------------------------------------------------------


def test_has_some_and_has_all_on_scalar_fields(wix, people):
    cases = [
        ({"name": {"$hasSome": ["alice", "bob", "nobody"]}}, ["p01", "p04"]),
        ({"name": {"$hasSome": ["ALICE"]}}, ["p03"]),
        ({"name": {"$hasSome": ["BOB"]}}, []),
        ({"name": {"$hasAll": ["alice"]}}, ["p01"]),
        ({"name": {"$hasAll": ["alice", "alice"]}}, ["p01"]),
        ({"name": {"$hasAll": ["alice", "Alice"]}}, []),
        ({"age": {"$hasSome": [30, 18]}}, ["p01", "p05", "p06"]),
        ({"age": {"$hasAll": [30]}}, ["p01", "p05"]),
        ({"age": {"$hasAll": [30, 18]}}, []),
        ({"active": {"$hasSome": [False]}}, ["p02", "p05", "p09", "p11"]),
    ]
    assert mismatches(wix, cases) == {}


def test_has_some_and_has_all_on_json_arrays_are_type_exact(wix, people):
    # profile arrays: p05 ["x", 1, true], p06 ["1", "y"], p08 []; other rows hold objects
    cases = [
        ({"profile": {"$hasSome": [1]}}, ["p05"]),
        ({"profile": {"$hasSome": ["1"]}}, ["p06"]),
        ({"profile": {"$hasSome": [True]}}, ["p05"]),
        ({"profile": {"$hasSome": ["true"]}}, []),
        ({"profile": {"$hasSome": ["y", "x"]}}, ["p05", "p06"]),
        ({"profile": {"$hasSome": ["X"]}}, []),
        ({"profile": {"$hasSome": ["Paris"]}}, []),
        ({"profile": {"$hasAll": ["x", 1]}}, ["p05"]),
        ({"profile": {"$hasAll": ["x", "1"]}}, []),
        ({"profile": {"$hasAll": [1, True, "x"]}}, ["p05"]),
        ({"profile": {"$hasAll": ["1", "y"]}}, ["p06"]),
    ]
    assert mismatches(wix, cases) == {}


# --- objects -----------------------------------------------------------------------


def test_json_containment_and_dotted_paths(wix, people):
    cases = [
        ({"profile": {"city": "Paris"}}, ["p01"]),
        ({"profile": {"city": "paris"}}, ["p02"]),
        ({"profile": {"city": "Paris", "zip": 75001}}, ["p01"]),
        ({"profile": {"city": "Paris", "zip": 75002}}, []),
        ({"profile": {"zip": 75001}}, ["p01"]),
        ({"profile": {"zip": "75001"}}, []),
        ({"profile": {"tags": ["a"]}}, ["p01", "p03"]),
        ({"profile": {"tags": ["b"]}}, ["p01", "p02"]),
        ({"profile": {"tags": [1]}}, ["p12"]),
        ({"profile": {"$eq": {"country": "FR"}}}, ["p10"]),
        ({"profile": {"$ne": {"city": "Paris"}}}, but("p01")),
        ({"profile.city": "Paris"}, ["p01"]),
        ({"profile.city": {"$eq": "PARIS"}}, ["p09"]),
        ({"profile.city": {"$ne": "Paris"}}, but("p01")),
        ({"profile.zip": 75001}, ["p01"]),
        ({"profile.zip": {"$gt": 75000}}, ["p01", "p02", "p09"]),
        ({"profile.zip": {"$gte": 75002}}, ["p02", "p09"]),
        ({"profile.zip": {"$lt": 69001}}, ["p07", "p12"]),
        ({"profile.zip": {"$lte": 69001}}, ["p03", "p07", "p12"]),
        ({"profile.zip": {"$in": [75001, 10115, 1]}}, ["p01", "p12"]),
        ({"profile.city": {"$in": ["Paris", "Lyon"]}}, ["p01", "p03"]),
        ({"profile.city": {"$exists": True}}, ["p01", "p02", "p03", "p07", "p09", "p12"]),
        ({"profile.country": {"$exists": True}}, ["p10"]),
        ({"profile.nothing": "x"}, []),
    ]
    assert mismatches(wix, cases) == {}


# --- logic -------------------------------------------------------------------------


def test_and_or_nesting(wix, people):
    cases = [
        ({"$or": [{"age": {"$lt": 10}}, {"name": "bob"}]}, ["p04", "p09", "p11"]),
        ({"$and": [{"age": {"$gte": 18}}, {"age": {"$lte": 30}}]}, ["p01", "p02", "p05", "p06"]),
        (
            {"$and": [{"age": {"$gte": 18}}, {"$or": [{"active": True}, {"score": {"$gt": 5}}]}]},
            ["p01", "p03", "p05", "p06", "p07"],
        ),
        (
            {"active": True, "$or": [{"name": {"$startsWith": "a"}}, {"age": {"$gt": 50}}]},
            ["p01", "p03", "p07"],
        ),
        (
            {
                "$or": [
                    {"$and": [{"name": {"$contains": "e"}}, {"active": False}]},
                    {"$and": [{"profile.city": "Lyon"}, {"age": 40}]},
                ]
            },
            ["p02", "p03", "p05"],
        ),
        ({"$or": [{"name": "nobody"}]}, []),
        ({"$and": [{"name": "alice"}]}, ["p01"]),
        ({"$or": [{"age": 30}, {"age": 30}]}, ["p01", "p05"]),
    ]
    assert mismatches(wix, cases) == {}


def test_not(wix, people):
    cases = [
        # $not of a comparison includes the rows where the field is null
        ({"$not": {"age": {"$gt": 30}}}, but("p03", "p07", "p08")),
        ({"$not": [{"age": {"$gt": 30}}]}, but("p03", "p07", "p08")),
        ({"$not": {"name": "alice"}}, but("p01")),
        ({"$not": [{"name": {"$startsWith": "a"}}]}, but("p01", "p02", "p03", "p11", "p12")),
        ({"$not": {"note": {"$contains": "a"}}}, ["p01", "p02", "p05", "p06", "p10", "p11"]),
        ({"$not": {"$or": [{"age": 30}, {"age": 40}]}}, but("p01", "p03", "p05")),
        ({"$not": {"$not": {"age": 30}}}, ["p01", "p05"]),
        ({"$not": {"age": None}}, but("p04", "p10")),
        ({"active": True, "$not": {"age": {"$lt": 30}}}, ["p01", "p03", "p07", "p10"]),
    ]
    assert mismatches(wix, cases) == {}


# --- count -------------------------------------------------------------------------


def test_count(wix, people):
    cases = [
        ({}, 12),
        ({"age": 30}, 2),
        ({"name": {"$contains": "LIC"}}, 3),
        ({"$not": {"age": {"$gt": 30}}}, 9),
        ({"profile": {"$hasSome": [1]}}, 1),
        ({"name": "nobody"}, 0),
    ]
    got = {}
    for filter_, _ in cases:
        status, body = wix.post("/v3/items/count", {"collectionId": "people", "filter": filter_})
        got[json.dumps(filter_)] = (status, body)
    assert got == {json.dumps(f): (200, {"totalCount": n}) for f, n in cases}


def test_count_rejects_an_invalid_filter(wix, people):
    status, body = wix.post(
        "/v3/items/count", {"collectionId": "people", "filter": {"age": {"$foo": 1}}}
    )
    assert_filter_violation(status, body, "age")


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_", "field_path"),
    [
        pytest.param({"nope": 1}, "nope", id="unknown-field"),
        pytest.param({"$or": [{"name": "bob"}, {"nope": 1}]}, "nope", id="unknown-field-in-or"),
        pytest.param({"name.first": "x"}, "name.first", id="dotted-path-on-text"),
        pytest.param({"name": {"$foo": 1}}, "name", id="unknown-operator"),
        pytest.param({"age": {"$contains": "3"}}, "age", id="contains-on-number"),
        pytest.param({"age": {"$matches": {"spec": []}}}, "age", id="matches-on-number"),
        pytest.param({"born": {"$startsWith": "19"}}, "born", id="startswith-on-date"),
        pytest.param({"active": {"$gt": True}}, "active", id="gt-on-boolean"),
        pytest.param({"active": {"$lte": False}}, "active", id="lte-on-boolean"),
        pytest.param({"profile": {"$gt": 1}}, "profile", id="gt-on-object"),
        pytest.param({"age": {"$in": [30, "x"]}}, "age", id="in-with-a-wrong-type"),
    ],
)
def test_unsupported_filter_is_a_validation_error(wix, people, filter_, field_path):
    status, body = wix.query("people", {"filter": filter_})
    assert_filter_violation(status, body, field_path)


@pytest.mark.parametrize(
    ("filter_", "field_path", "rejected"),
    [
        pytest.param({"age": "old"}, "age", "old", id="text-for-number"),
        pytest.param({"age": {"$gt": "old"}}, "age", "old", id="text-for-number-gt"),
        pytest.param({"active": "yes"}, "active", "yes", id="text-for-boolean"),
        pytest.param({"seen": {"$lt": "not a date"}}, "seen", "not a date", id="bad-datetime"),
        pytest.param({"born": "15/01/1990"}, "born", "15/01/1990", id="bad-date"),
        pytest.param({"name": 5}, "name", 5, id="number-for-text"),
        pytest.param({"age": {"$in": 30}}, "age", 30, id="in-not-a-list"),
        pytest.param({"age": {"$nin": "30"}}, "age", "30", id="nin-not-a-list"),
    ],
)
def test_wrong_value_is_a_validation_error(wix, people, filter_, field_path, rejected):
    status, body = wix.query("people", {"filter": filter_})
    assert_filter_violation(status, body, field_path, rejected)


@pytest.mark.parametrize(
    "filter_",
    [
        pytest.param([{"age": 30}], id="list"),
        pytest.param("age = 30", id="string"),
        pytest.param(30, id="number"),
    ],
)
def test_filter_that_is_not_an_object_is_a_validation_error(wix, people, filter_):
    status, body = wix.query("people", {"filter": filter_})
    assert_filter_violation(status, body, "query.filter", filter_)
