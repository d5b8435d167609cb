"""The OpenAPI 3.1 document of the /v3 API, served at /openapi.json.

Request bodies are the marshmallow schemas of connector/schemas.py, converted
here (what ``schemas.load`` accepts: unknown keys are ignored, so objects
allow additional properties); the answers are written out below. A route
added to the app without a line in :data:`OPERATIONS` fails tests/test_openapi.py.
"""

from __future__ import annotations

import copy
import functools
import json

from marshmallow import Schema, validate
from marshmallow import fields as mf

from . import __version__, describe, operators, schemas

REF = "#/components/schemas/"

#: path -> (operationId, tag, summary, request schema, response component).
# fmt: off
OPERATIONS: dict[str, tuple[str, str, str, type[Schema], str]] = {
    "/v3/items/query": (
        "queryItems", "items", "Query items.", schemas.QueryRequest, "QueryResponse"
    ),
    "/v3/items/count": (
        "countItems", "items", "Count the items a filter selects.", schemas.CountRequest,
        "CountResponse",
    ),
    "/v3/items/aggregate": (
        "aggregateItems", "items", "Group items and aggregate their values.",
        schemas.AggregateRequest, "QueryResponse",
    ),
    "/v3/items/query-distinct-values": (
        "queryDistinctValues", "items", "The distinct values of a field.",
        schemas.DistinctRequest, "DistinctResponse",
    ),
    "/v3/items/insert": (
        "insertItems", "items", "Insert items.", schemas.ItemsRequest, "ItemResults"
    ),
    "/v3/items/update": (
        "updateItems", "items", "Replace items.", schemas.ItemsRequest, "ItemResults"
    ),
    "/v3/items/remove": (
        "removeItems", "items", "Remove items by id.", schemas.RemoveRequest, "ItemResults"
    ),
    "/v3/items/truncate": (
        "truncateItems", "items", "Remove every item.", schemas.TruncateRequest, "Empty"
    ),
    "/v3/items/query-referenced": (
        "queryReferenced", "references", "The references of a MULTI_REFERENCE field.",
        schemas.QueryReferencedRequest, "ReferencedResponse",
    ),
    "/v3/items/insert-references": (
        "insertReferences", "references", "Add references.", schemas.ReferencesRequest,
        "ReferenceResults",
    ),
    "/v3/items/remove-references": (
        "removeReferences", "references", "Remove references.", schemas.ReferencesRequest,
        "ReferenceResults",
    ),
    "/v3/collections/get": (
        "getCollections", "collections", "Describe collections (all when no ids are given).",
        schemas.CollectionsGetRequest, "CollectionsResponse",
    ),
    "/v3/collections/create": (
        "createCollection", "collections", "Create a collection (a table).",
        schemas.CollectionRequest, "CollectionResponse",
    ),
    "/v3/collections/update": (
        "updateCollection", "collections", "Change a collection's fields.",
        schemas.CollectionRequest, "CollectionResponse",
    ),
    "/v3/collections/delete": (
        "deleteCollection", "collections", "Drop a collection.", schemas.CollectionIdRequest,
        "Empty",
    ),
    "/v3/capabilities/get": (
        "getCapabilities", "capabilities", "What this database and these settings allow.",
        schemas.CapabilitiesRequest, "CapabilitiesResponse",
    ),
    "/v3/indexes/list": (
        "listIndexes", "indexes", "A collection's indexes.", schemas.CollectionIdRequest,
        "IndexesResponse",
    ),
    "/v3/indexes/create": (
        "createIndex", "indexes", "Create an index.", schemas.IndexCreateRequest,
        "IndexResponse",
    ),
    "/v3/indexes/remove": (
        "removeIndex", "indexes", "Drop an index.", schemas.IndexRemoveRequest, "Empty"
    ),
}
# fmt: on

#: Every operation may answer these, in the error format.
ERRORS = {
    "400": "Invalid request (VALIDATION_ERROR, BAD_REQUEST, COLLECTION_CHANGE_NOT_SUPPORTED).",
    "401": "Not authenticated (UNAUTHORIZED).",
    "403": "The caller's role does not allow it (PERMISSION_DENIED).",
    "404": "No such collection, item or reference.",
    "409": "The collection, item or reference already exists.",
    "413": "The body is too large (PAYLOAD_TOO_LARGE).",
    "503": "The database is unavailable (DATABASE_UNAVAILABLE).",
}

DESCRIPTION = """\
A relational database served as a Wix external database (the v3 SPI).

Every operation is a POST of a JSON object. Direct callers send it as
`application/json` with `Authorization: Bearer <CONNECTOR_API_KEY>`. Wix
sends the same object signed: a `text/plain` body holding an RS256/ES256 JWT
whose `data` claim is `{"request": <the object>, "metadata": {...}}`.
Unknown keys are ignored. Errors are `{"errorCode", "errorMessage", "data"}`.
"""

#: Any JSON value but null (a marshmallow Raw field that does not allow None).
NOT_NULL = {"type": ["object", "array", "string", "number", "boolean"]}


# --- marshmallow -> JSON Schema ------------------------------------------------------


def field_schema(field: mf.Field) -> dict:
    """The JSON Schema of what ``field`` loads."""
    if isinstance(field, mf.Nested):
        out = {"$ref": REF + type(field.schema).__name__}
    elif isinstance(field, mf.List):
        out = {"type": "array", "items": field_schema(field.inner)}
    elif isinstance(field, mf.Dict):
        out = {"type": "object"}
    elif isinstance(field, mf.Boolean):
        out = {"type": "boolean"}
    elif isinstance(field, mf.Integer):
        out = {"type": "integer"}
    elif isinstance(field, mf.Number):
        out = {"type": "number"}
    elif isinstance(field, mf.String):
        out = {"type": "string"}
    elif type(field) is mf.Raw:
        out = {} if field.allow_none else dict(NOT_NULL)
    else:
        raise TypeError(
            f"No JSON Schema for {type(field).__name__}; add it to connector/openapi.py"
        )
    for rule in field.validators:
        out.update(_constraint(rule, out.get("type")))
    if field.allow_none and out:
        if "$ref" in out:
            out = {"anyOf": [out, {"type": "null"}]}
        else:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
    return out


def _constraint(rule, kind) -> dict:
    if isinstance(rule, validate.OneOf):
        return {"enum": list(rule.choices)}
    if isinstance(rule, validate.Range):
        bounds = {"minimum": rule.min, "maximum": rule.max}
        if not rule.min_inclusive:
            bounds["exclusiveMinimum"] = bounds.pop("minimum")
        if not rule.max_inclusive:
            bounds["exclusiveMaximum"] = bounds.pop("maximum")
        return {k: v for k, v in bounds.items() if v is not None}
    if isinstance(rule, validate.Length):
        names = ("minItems", "maxItems") if kind == "array" else ("minLength", "maxLength")
        if rule.equal is not None:
            return dict.fromkeys(names, rule.equal)
        return {n: v for n, v in zip(names, (rule.min, rule.max), strict=True) if v is not None}
    raise TypeError(f"No JSON Schema for the validator {rule!r}")


def object_schema(schema: type[Schema], components: dict) -> dict:
    """The JSON Schema of ``schema``, adding it and its nested schemas to ``components``."""
    name = schema.__name__
    if name in RESPONSES:
        raise ValueError(f"The request schema {name} has the name of an answer's schema")
    if name not in components:
        components[name] = {}  # claimed before recursing (a schema may nest itself)
        properties, required = {}, []
        for key, field in schema().fields.items():
            wire = field.data_key or key
            if isinstance(field, mf.Nested):
                object_schema(type(field.schema), components)
            elif isinstance(field, mf.List) and isinstance(field.inner, mf.Nested):
                object_schema(type(field.inner.schema), components)
            properties[wire] = field_schema(field)
            if field.required:
                required.append(wire)
        out = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        if schema.__doc__:
            out["description"] = schema.__doc__.strip()
        components[name] = out
    return {"$ref": REF + name}


# --- the answers ----------------------------------------------------------------------


def _obj(required=(), optional=None, **properties) -> dict:
    """A closed object: ``properties`` (``required`` among them) and ``optional``."""
    out = {"type": "object", "properties": {**properties, **(optional or {})}}
    out["additionalProperties"] = False
    if required:
        out["required"] = list(required)
    return out


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


STRING, BOOLEAN = {"type": "string"}, {"type": "boolean"}
COUNT = {"type": "integer", "minimum": 0}
ROLE = {"type": "string", "enum": schemas.ROLES}
OPERATIONS_ENUM = (
    describe.READ_OPERATIONS + describe.WRITE_OPERATIONS + describe.REFERENCE_OPERATIONS
)


def _results(success_key: str, success: dict) -> dict:
    """``{"results": [...]}``: per entry, the success or the error that refused it."""
    one = {
        "oneOf": [
            _obj([success_key], **{success_key: success}),
            _obj(["error"], error=_ref("Error")),
        ]
    }
    return _obj(["results"], results=_array(one))


RESPONSES = {
    "Error": _obj(
        ["errorCode", "errorMessage", "data"],
        errorCode=STRING,
        errorMessage=STRING,
        data={"type": "object"},
    ),
    "Item": {"type": "object", "description": "An item: field key -> wire value."},
    "PagingMetadata": _obj(
        ["count"],
        count=COUNT,
        offset=COUNT,
        total=COUNT,
        cursors=_obj(next=STRING, prev=STRING),
    ),
    "QueryResponse": _obj(
        ["items", "pagingMetadata"],
        items=_array(_ref("Item")),
        pagingMetadata=_ref("PagingMetadata"),
    ),
    "CountResponse": _obj(["totalCount"], totalCount=COUNT),
    "DistinctResponse": _obj(
        ["distinctValues", "pagingMetadata"],
        distinctValues={"type": "array"},
        pagingMetadata=_ref("PagingMetadata"),
    ),
    "ItemResults": _results("item", _ref("Item")),
    "Reference": _obj(
        ["referringItemId", "referencedItemId"], referringItemId={}, referencedItemId={}
    ),
    "ReferenceResults": _results("reference", _ref("Reference")),
    "ReferencedResponse": _obj(
        ["items", "pagingMetadata"],
        items=_array(
            _obj(
                ["referringItemId", "referencedItemId"],
                referringItemId=STRING,
                referencedItemId=STRING,
                referencedItem=_ref("Item"),
            )
        ),
        pagingMetadata=_ref("PagingMetadata"),
    ),
    "Empty": _obj(),
    "Field": _obj(
        ["key", "displayName", "type", "encrypted", "capabilities"],
        {
            "description": STRING,
            "singleReferenceOptions": _obj(
                ["referencedCollectionId"], referencedCollectionId=STRING
            ),
            "multiReferenceOptions": _obj(
                ["referencedCollectionId"],
                referencedCollectionId=STRING,
                referencedCollectionFieldKey=STRING,
            ),
        },
        key=STRING,
        displayName=STRING,
        type=STRING,
        encrypted=BOOLEAN,
        capabilities=_obj(
            ["sortable", "queryOperators"],
            sortable=BOOLEAN,
            queryOperators=_array({"type": "string", "enum": list(operators.CAPABILITY_ORDER)}),
        ),
    ),
    "Collection": _obj(
        ["id", "displayName", "fields", "capabilities", "permissions", "pagingMode"],
        id=STRING,
        displayName=STRING,
        fields=_array(_ref("Field")),
        capabilities=_obj(
            ["dataOperations"],
            dataOperations=_array({"type": "string", "enum": OPERATIONS_ENUM}),
        ),
        permissions=_obj(insert=ROLE, update=ROLE, remove=ROLE, read=ROLE),
        pagingMode={"type": "string", "enum": ["OFFSET", "CURSOR"]},
    ),
    "CollectionsResponse": _obj(["collections"], collections=_array(_ref("Collection"))),
    "CollectionResponse": _obj(["collection"], collection=_ref("Collection")),
    "CapabilitiesResponse": _obj(
        ["supportsCollectionModifications", "supportedFieldTypes", "indexOptions"],
        supportsCollectionModifications=BOOLEAN,
        supportedFieldTypes=_array(STRING),
        indexOptions=_obj(
            ["supportsIndexes"],
            supportsIndexes=BOOLEAN,
            maxNumberOfRegularIndexesPerCollection=COUNT,
            maxNumberOfUniqueIndexesPerCollection=COUNT,
            maxNumberOfIndexesPerCollection=COUNT,
        ),
    ),
    "Index": _obj(
        ["name", "fields", "unique", "caseInsensitive", "status"],
        {"failure": _obj(["code", "description"], code=STRING, description=STRING)},
        name=STRING,
        fields=_array(
            _obj(["path", "order"], path=STRING, order={"type": "string", "enum": ["ASC", "DESC"]})
        ),
        unique=BOOLEAN,
        caseInsensitive=BOOLEAN,
        status={"type": "string", "enum": ["ACTIVE", "FAILED"]},
    ),
    "IndexesResponse": _obj(["indexes"], indexes=_array(_ref("Index"))),
    "IndexResponse": _obj(["index"], index=_ref("Index")),
}


# --- the document ---------------------------------------------------------------------


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _operation(operation_id, tag, summary, request, response, components) -> dict:
    responses = {"200": {"description": "OK", "content": _json(_ref(response))}}
    for status, text in ERRORS.items():
        responses[status] = {"description": text, "content": _json(_ref("Error"))}
    return {
        "post": {
            "operationId": operation_id,
            "tags": [tag],
            "summary": summary,
            "requestBody": {"required": True, "content": _json(object_schema(request, components))},
            "responses": responses,
        }
    }


@functools.cache
def _document() -> dict:
    components = copy.deepcopy(RESPONSES)
    paths = {path: _operation(*entry, components=components) for path, entry in OPERATIONS.items()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wix external database connector",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "CONNECTOR_API_KEY (Wix signs the body as a JWT instead).",
                }
            },
        },
        "security": [{"apiKey": []}],
        "tags": [{"name": t} for t in dict.fromkeys(e[1] for e in OPERATIONS.values())],
    }


def document() -> dict:
    """The OpenAPI document (built once; a copy the caller may change)."""
    return copy.deepcopy(_document())


@functools.cache
def document_json() -> bytes:
    """The document as served (serialized once)."""
    return json.dumps(_document(), separators=(",", ":")).encode()
