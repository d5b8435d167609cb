"""/openapi.json: the document is served, valid, and names every /v3 route; and a
schemathesis run against it finds no 500s and no answer outside the documented
shapes, on every backend.

The run is short by default (CI); ``SCHEMATHESIS_EXAMPLES=N`` runs N examples
per operation and backend, with fresh randomness each run.
"""

from __future__ import annotations

import os

import jsonschema_rs
import pytest
import schemathesis
from conftest import (
    API_KEY,
    APP_ID,
    BACKENDS,
    SECRET_KEY,
    SERVER_URLS,
    Client,
    _empty,
    _unreachable,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from connector import create_app
from connector.openapi import OPERATIONS

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES") or 0)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
AUTH = {"Authorization": f"Bearer {API_KEY}"}
STATUSES = {"200", "400", "401", "403", "404", "409", "413", "503"}

#: (backend or None for all, path) -> the bug schemathesis found there.
KNOWN_BUGS: dict[tuple[str | None, str], str] = {}


def _config(url, public_pem):
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "WIX_APP_ID": APP_ID,
        "WIX_PUBLIC_KEY": public_pem,
        "CONNECTOR_API_KEY": API_KEY,
        "CONNECTOR_SECRET_KEY": SECRET_KEY,
    }


@pytest.fixture
def sqlite_app(tmp_path, public_pem):
    application = create_app(_config(f"sqlite:///{tmp_path / 'doc.sqlite3'}", public_pem))
    yield application
    application.extensions["connector.engine"].dispose()


def _served(app) -> dict:
    response = app.test_client().get("/openapi.json")  # no Authorization: it is public
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _refs(value):
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"]
        for inner in value.values():
            yield from _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _refs(inner)


def test_the_document_is_served_and_valid(sqlite_app):
    document = _served(sqlite_app)
    OPENAPI_31_VALIDATOR.validate(document)
    components = document["components"]["schemas"]
    for name, schema in components.items():
        assert jsonschema_rs.meta.is_valid(schema), name
    names = {ref.removeprefix("#/components/schemas/") for ref in _refs(document)}
    assert names <= set(components), names - set(components)
    for path, item in document["paths"].items():
        operation = item["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"], path
        assert set(operation["responses"]) == STATUSES, path
    assert document["security"] == [{"apiKey": []}]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_every_v3_route_is_documented(sqlite_app):
    routes = {}
    for rule in sqlite_app.url_map.iter_rules():
        if rule.rule.startswith("/v3/"):
            routes[rule.rule] = sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: sorted(item) for path, item in _served(sqlite_app)["paths"].items()}
    assert documented == routes


def test_each_route_is_documented_with_the_schema_it_loads(sqlite_app):
    """The request schema named in OPERATIONS is the one the view validates with
    (``http.endpoint`` keeps it in the view's closure)."""
    for rule in sqlite_app.url_map.iter_rules():
        if not rule.rule.startswith("/v3/"):
            continue
        view = sqlite_app.view_functions[rule.endpoint]
        cells = [cell.cell_contents for cell in view.__closure__ or ()]
        loaded = [type(c) for c in cells if isinstance(c, Schema)]
        assert loaded == [OPERATIONS[rule.rule][3]], rule.rule


# --- schemathesis ----------------------------------------------------------------------

PEOPLE = [
    {"_id": "ada", "name": "Ada", "age": 36, "active": True, "tags": ["math"]},
    {"_id": "alan", "name": "Alan", "age": 41, "active": False, "tags": []},
    {"_id": "grace", "name": "Grace", "age": 85, "active": True, "tags": ["navy", "cobol"]},
]
PETS = [{"_id": "rex", "name": "Rex"}, {"_id": "tom", "name": "Tom"}]
COLLECTIONS = ["people", "pets"]
FIELDS = ["name", "age", "_id", "active", "born", "tags", "pets", "_createdDate"]
IDS = [p["_id"] for p in PEOPLE + PETS]


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_app(request, server_databases, tmp_path_factory, public_pem):
    """One app per backend for the whole run (an app per test costs too much)."""
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'fuzz.sqlite3'}"
    else:
        url = server_databases[backend]
        if isinstance(url, Exception):
            _unreachable(backend, SERVER_URLS[backend], url)
        _empty(backend, url)
        url = url.render_as_string(hide_password=False)
    application = create_app(_config(url, public_pem))
    yield backend, application
    application.extensions["connector.engine"].dispose()


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app[1])


def _ok(api, path, request, *statuses):
    status, body = api.post(path, request)
    assert status in (200, *statuses), (path, request, status, body)
    return body


def _seed(app) -> None:
    """people (with a MULTI_REFERENCE to pets) and pets, as each operation's run starts."""
    api = Client(app)
    for collection_id in COLLECTIONS:
        _ok(api, "/v3/collections/delete", {"collectionId": collection_id}, 404)
    pets = {"id": "pets", "fields": [{"key": "name", "type": "TEXT"}]}
    people = {
        "id": "people",
        "fields": [
            {"key": "name", "type": "TEXT"},
            {"key": "age", "type": "NUMBER"},
            {"key": "active", "type": "BOOLEAN"},
            {"key": "born", "type": "DATETIME"},
            {"key": "tags", "type": "ARRAY"},
            {
                "key": "pets",
                "type": "MULTI_REFERENCE",
                "multiReferenceOptions": {"referencedCollectionId": "pets"},
            },
        ],
    }
    for spec, items in ((pets, PETS), (people, PEOPLE)):
        _ok(api, "/v3/collections/create", {"collection": spec})
        _ok(api, "/v3/items/insert", {"collectionId": spec["id"], "items": items})
    references = [{"referringItemId": "ada", "referencedItemId": "rex"}]
    request = {"collectionId": "people", "referringFieldKey": "pets", "references": references}
    _ok(api, "/v3/items/insert-references", request)
    index = {"name": "by_name", "fields": [{"path": "name"}]}
    _ok(api, "/v3/indexes/create", {"collectionId": "people", "index": index})


ID = st.one_of(st.sampled_from(IDS), st.text(max_size=8))
VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["Ada", "a", "rex", "2024-02-30", ""]),
    st.builds(lambda d: {"$date": d.isoformat() + "Z"}, st.datetimes()),
)
OPERATOR = st.sampled_from(
    ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$hasSome", "$hasAll"]
    + ["$contains", "$startsWith", "$endsWith", "$exists", "$isEmpty", "$matches", "$urlized"]
)
CONDITION = st.builds(
    lambda field, op, value: {field: {op: value} if op else value},
    st.sampled_from(FIELDS),
    st.one_of(st.none(), OPERATOR),
    st.one_of(VALUE, st.lists(VALUE, max_size=3)),
)
FILTER = st.recursive(
    CONDITION,
    lambda inner: st.one_of(
        st.builds(
            lambda k, xs: {k: xs}, st.sampled_from(["$and", "$or"]), st.lists(inner, max_size=3)
        ),
        st.builds(lambda x: {"$not": x}, inner),
    ),
    max_leaves=4,
)
ITEM = st.fixed_dictionaries(
    {"_id": ID},
    optional={key: st.one_of(VALUE, st.lists(VALUE, max_size=3)) for key in FIELDS if key != "_id"},
)
REFERENCE = st.fixed_dictionaries({"referringItemId": ID, "referencedItemId": ID})
AGGREGATE = st.builds(
    lambda name, kind, field: {"resultFieldName": name, kind: {"itemFieldName": field}},
    st.sampled_from(["n", "total", "name"]),
    st.sampled_from(["itemCount", "sum", "average", "min", "max"]),
    st.sampled_from(FIELDS),
)
TYPES = ["TEXT", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "TIME", "OBJECT", "ARRAY", "URL"]
TYPES += ["REFERENCE", "MULTI_REFERENCE", "IMAGE", "ARRAY_STRING", "RICH_TEXT", "ANY"]


def _ids(strategy=None):
    return st.lists(st.sampled_from(IDS) if strategy is None else strategy, max_size=3)


#: (path in the request, "*" for each element of a list) -> what to put there often.
STEERS = [
    (("collectionId",), st.sampled_from(COLLECTIONS)),
    (("collectionIds",), st.lists(st.sampled_from(COLLECTIONS), max_size=2)),
    (("collection", "id"), st.sampled_from(["cars", *COLLECTIONS])),
    (("collection", "fields", "*", "type"), st.sampled_from(TYPES)),
    (("referringFieldKey",), st.just("pets")),
    (("fieldName",), st.sampled_from(FIELDS)),
    (("filter",), FILTER),
    (("initialFilter",), FILTER),
    (("finalFilter",), FILTER),
    (("query", "filter"), FILTER),
    (("query", "sort", "*", "fieldName"), st.sampled_from(FIELDS)),
    (("sort", "*", "fieldName"), st.sampled_from(FIELDS + ["n", "total"])),
    (("query", "fields"), _ids(st.sampled_from(FIELDS))),
    (("fieldsToReturn",), _ids(st.sampled_from(FIELDS))),
    (("items",), st.lists(ITEM, max_size=4)),
    (("itemIds",), _ids(ID)),
    (("references",), st.lists(REFERENCE, max_size=3)),
    (("referringItemIds",), _ids()),
    (("referencedItemIds",), _ids()),
    (("aggregation", "groupingFields"), _ids(st.sampled_from(FIELDS))),
    (("aggregation", "operations"), st.lists(AGGREGATE, min_size=1, max_size=2)),
    (("index", "fields", "*", "path"), st.sampled_from(FIELDS)),
    (("indexName",), st.sampled_from(["by_name", "_id_"])),
]


def _declared(components, schema) -> dict:
    """What an object schema (behind $ref and anyOf) declares: property -> schema."""
    if "$ref" in schema:
        return _declared(components, components[schema["$ref"].rsplit("/", 1)[1]])
    found = dict(schema.get("properties", {}))
    for alternative in schema.get("anyOf", ()):
        found.update(_declared(components, alternative))
    return found


def _element(components, schema) -> dict:
    if "$ref" in schema:
        return _element(components, components[schema["$ref"].rsplit("/", 1)[1]])
    for alternative in schema.get("anyOf", ()):
        if "items" in alternative:
            return alternative["items"]
    return schema.get("items", {})


def _steer(node, schema, path, strategy, draw, components) -> None:
    """Mostly put a value of ``strategy`` at ``path`` where the request's schema declares
    it, so that the run gets past "no such collection/field" to queries and writes."""
    key, rest = path[0], path[1:]
    if key == "*":
        for element in node if isinstance(node, list) else ():
            _steer(element, _element(components, schema), rest, strategy, draw, components)
        return
    declared = _declared(components, schema)
    if not isinstance(node, dict) or key not in declared:
        return
    if not rest:
        if draw(st.integers(0, 3)) != 3:
            node[key] = draw(strategy)
        return
    if not isinstance(node.get(key), (dict, list)) and rest[0] != "*" and not draw(st.booleans()):
        node[key] = {}
    _steer(node.get(key), declared[key], rest, strategy, draw, components)


@pytest.mark.parametrize("path", sorted(OPERATIONS))
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    request, path, fuzz_app, fuzz_schema
):
    backend, app = fuzz_app
    reason = KNOWN_BUGS.get((backend, path)) or KNOWN_BUGS.get((None, path))
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=False))
    _seed(app)
    operation = fuzz_schema[path]["POST"]
    components = fuzz_schema.raw_schema["components"]["schemas"]
    body_schema = fuzz_schema.raw_schema["paths"][path]["post"]["requestBody"]["content"]
    body_schema = body_schema["application/json"]["schema"]

    cases = st.one_of(
        operation.as_strategy(),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES or 12,
        derandomize=not EXAMPLES,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(case=cases, data=st.data())
    def run(case, data):
        for path_, strategy in STEERS:
            _steer(case.body, body_schema, path_, strategy, data.draw, components)
        response = case.call(headers=AUTH)
        case.validate_response(response, checks=CHECKS, headers=AUTH)

    run()
