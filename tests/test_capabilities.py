"""POST /v3/capabilities/get, and field capabilities against the filter compiler.

What a field reports in ``capabilities.queryOperators`` must be exactly what a
filter on it accepts: every operator of a reported capability compiles (200),
an operator of an unreported one is a VALIDATION_ERROR naming the field; and
``sortable`` says whether a sort by the field is accepted. Checked for fields of
every supported type created through /v3/collections/create and for columns of
a table made by another tool (reflected types).

Every test runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import DATETIME, TIME, Client, create_table
from wix_contract import (
    ALL_CAPABILITIES,
    ARRAY_LIKE,
    JSON_LIKE,
    TEXT_LIKE,
    expected_capabilities,
)
from wix_contract import COLUMN_TYPES as SUPPORTED_TYPES

from connector import create_app

INDEX_OPTIONS = {
    "supportsIndexes": True,
    "maxNumberOfRegularIndexesPerCollection": 64,
    "maxNumberOfUniqueIndexesPerCollection": 64,
    "maxNumberOfIndexesPerCollection": 64,
}


# --- capabilities/get ----------------------------------------------------------


def test_capabilities_get(wix):
    status, body = wix.post("/v3/capabilities/get", {})
    assert status == 200, body
    assert body == {
        "supportsCollectionModifications": True,
        # REFERENCE fields need their options, so the per-type tests leave them out.
        "supportedFieldTypes": [*SUPPORTED_TYPES, "REFERENCE", "MULTI_REFERENCE"],
        "indexOptions": INDEX_OPTIONS,
    }


@pytest.mark.parametrize("setting", [True, "true"])
def test_capabilities_get_with_read_only_schema(app_config, rsa_key, setting):
    application = create_app({**app_config, "CONNECTOR_READ_ONLY_SCHEMA": setting})
    try:
        status, body = Client(application, rsa_key).post("/v3/capabilities/get", {})
    finally:
        application.extensions["connector.engine"].dispose()
    assert status == 200, body
    assert body["supportsCollectionModifications"] is False, body
    assert body["supportedFieldTypes"] == [], body


# --- collections to probe ------------------------------------------------------


def field_key(wix_type: str) -> str:
    return "f_" + wix_type.lower()


def sample(wix_type: str):
    """A filter value of the right type for a field of ``wix_type``."""
    if wix_type in TEXT_LIKE:
        return "a"
    if wix_type in ARRAY_LIKE:
        return ["x"]
    if wix_type in JSON_LIKE:
        return {"k": "v"}
    return {
        "NUMBER": 1.5,
        "BOOLEAN": True,
        "DATE": "2024-01-02",
        "DATETIME": {"$date": "2024-01-02T03:04:05.678Z"},
        "TIME": "03:04:05.678",
    }[wix_type]


def stored_value(wix_type: str):
    """A value to store in a field of ``wix_type``."""
    if wix_type in TEXT_LIKE:
        return "a-b"
    if wix_type == "ARRAY_DOCUMENT":
        return [{"k": "v"}]
    return sample(wix_type)


class Probe:
    """A collection and what each of its fields should report.

    :param fields: field key -> (Wix type, filter value, is the integer key).
    """

    def __init__(self, collection_id, fields):
        self.collection_id = collection_id
        self.fields = fields


@pytest.fixture
def created(wix):
    """A collection with one field of every supported type, and two items."""
    request = {
        "collection": {
            "id": "every_type",
            "fields": [{"key": field_key(t), "type": t} for t in SUPPORTED_TYPES],
        }
    }
    status, body = wix.post("/v3/collections/create", request)
    assert status == 200, body
    items = [
        {"_id": "a", **{field_key(t): stored_value(t) for t in SUPPORTED_TYPES}},
        {"_id": "b"},
    ]
    status, body = wix.post("/v3/items/insert", {"collectionId": "every_type", "items": items})
    assert status == 200, body
    assert [list(r) for r in body["results"]] == [["item"], ["item"]], body
    fields = {"_id": ("TEXT", "a", False)}
    fields.update({field_key(t): (t, sample(t), False) for t in SUPPORTED_TYPES})
    fields["_createdDate"] = ("DATETIME", sample("DATETIME"), False)
    fields["_updatedDate"] = ("DATETIME", sample("DATETIME"), False)
    fields["_owner"] = ("TEXT", "a", False)
    return Probe("every_type", fields)


@pytest.fixture
def reflected(engine, backend):
    """A table made with SQLAlchemy (integer key named ``id``), and two rows."""
    create_table(
        engine,
        "legacy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("n_int", sa.Integer),
        sa.Column("n_double", sa.Double),
        sa.Column("s", sa.String(50)),
        sa.Column("b", sa.Boolean),
        sa.Column("d", sa.Date),
        sa.Column("ts", DATETIME),
        sa.Column("t", TIME),
        sa.Column("j", sa.JSON(none_as_null=True)),
        rows=[
            {"id": 1, "n_int": 1, "n_double": 1.5, "s": "a-b", "b": True, "j": {"k": "v"}},
            {"id": 2, "n_int": None, "n_double": None, "s": None, "b": None, "j": None},
        ],
    )
    return Probe(
        "legacy",
        {
            "_id": ("TEXT", "1", True),
            "n_int": ("NUMBER", 1, False),
            "n_double": ("NUMBER", 1.5, False),
            "s": ("TEXT", "a", False),
            "b": ("BOOLEAN", True, False),
            "d": ("DATE", sample("DATE"), False),
            "ts": ("DATETIME", sample("DATETIME"), False),
            "t": ("TIME", sample("TIME"), False),
            "j": ("OBJECT", {"k": "v"}, False),
        },
    )


@pytest.fixture(params=["created", "reflected"])
def probe(request):
    return request.getfixturevalue(request.param)


def reported_fields(wix, collection_id) -> list[dict]:
    status, body = wix.post("/v3/collections/get", {"collectionIds": [collection_id]})
    assert status == 200, body
    assert [c["id"] for c in body["collections"]] == [collection_id], body
    return body["collections"][0]["fields"]


def operators_of(capability: str, wix_type: str, value) -> list[tuple[str, object]]:
    """Filter operators (with operands) that belong to ``capability``, for a field
    of ``wix_type`` whose filter value is ``value``."""
    scalar = wix_type not in JSON_LIKE
    element = value if scalar else "x"
    return {
        "EQ": [("$eq", value)] + ([("$in", [value])] if scalar else []),
        "NE": [("$ne", value)] + ([("$nin", [value])] if scalar else []),
        "LT": [("$lt", value)],
        "GT": [("$gt", value)],
        "LTE": [("$lte", value)],
        "GTE": [("$gte", value)],
        "STARTS_WITH": [("$startsWith", "a")],
        "ENDS_WITH": [("$endsWith", "a")],
        "CONTAINS": [("$contains", "a")],
        "HAS_SOME": [("$hasSome", [element])],
        "HAS_ALL": [("$hasAll", [element])],
        "EXISTS": [("$exists", True), ("$isEmpty", False)],
        "URLIZED": [("$urlized", "a-b")],
    }[capability]


def run_filter(wix, collection_id, key, operator, value):
    return wix.query(collection_id, {"filter": {key: {operator: value}}})


def is_violation_of(status, body, field_path) -> bool:
    return (
        status == 400
        and body.get("errorCode") == "VALIDATION_ERROR"
        and [v.get("fieldPath") for v in body["data"]["violations"]] == [field_path]
    )


# --- field capabilities ----------------------------------------------------------


def test_fields_report_the_capabilities_of_their_type(wix, probe):
    fields = reported_fields(wix, probe.collection_id)
    assert [f["key"] for f in fields] == list(probe.fields)
    wrong = {}
    for f in fields:
        wix_type, _, integer_key = probe.fields[f["key"]]
        expected = {
            "type": wix_type,
            "encrypted": False,
            "capabilities": expected_capabilities(wix_type, integer_key=integer_key),
        }
        actual = {k: f.get(k) for k in expected}
        if actual != expected:
            wrong[f["key"]] = actual
    assert wrong == {}


def test_every_reported_operator_is_accepted(wix, probe):
    fields = reported_fields(wix, probe.collection_id)
    tried = 0
    refused = {}
    for f in fields:
        wix_type, value, integer_key = probe.fields[f["key"]]
        if integer_key:
            wix_type = "NUMBER"  # an integer key takes NUMBER's operators, with "1" as id
        for capability in f["capabilities"]["queryOperators"]:
            for operator, operand in operators_of(capability, wix_type, value):
                status, body = run_filter(wix, probe.collection_id, f["key"], operator, operand)
                tried += 1
                if status != 200 or not isinstance(body.get("items"), list):
                    refused[(f["key"], operator)] = (status, body)
    assert refused == {}
    assert tried >= 2 * len(fields)


def test_every_unreported_capability_is_refused(wix, probe):
    fields = reported_fields(wix, probe.collection_id)
    accepted = {}
    for f in fields:
        wix_type, value, integer_key = probe.fields[f["key"]]
        if integer_key:
            wix_type = "NUMBER"
        reported = set(f["capabilities"]["queryOperators"])
        for capability in ALL_CAPABILITIES:
            if capability in reported:
                continue
            operator, operand = operators_of(capability, wix_type, value)[0]
            status, body = run_filter(wix, probe.collection_id, f["key"], operator, operand)
            if not is_violation_of(status, body, f["key"]):
                accepted[(f["key"], operator)] = (status, body)
    assert accepted == {}


def test_sortable_says_whether_a_sort_is_accepted(wix, probe):
    fields = reported_fields(wix, probe.collection_id)
    # both collections have JSON fields, so both answers are exercised
    assert {f["capabilities"]["sortable"] for f in fields} == {True, False}
    wrong = {}
    for f in fields:
        for order in ("ASC", "DESC"):
            status, body = wix.query(
                probe.collection_id, {"sort": [{"fieldName": f["key"], "order": order}]}
            )
            if f["capabilities"]["sortable"]:
                ok = status == 200 and [i["_id"] for i in body["items"]] in (
                    ["a", "b"],
                    ["b", "a"],
                    ["1", "2"],
                    ["2", "1"],
                )
            else:
                ok = is_violation_of(status, body, f["key"])
            if not ok:
                wrong[(f["key"], order)] = (status, body)
    assert wrong == {}
