"""Marshmallow schemas of the items endpoints' requests (the HTTP edge).

Unknown request keys are ignored (Wix adds fields over time); filters and
items stay raw here and are validated against the collection's fields by the
services.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, validate
from marshmallow import ValidationError as SchemaError
from marshmallow import fields as mf

from .errors import ValidationError, violation

MAX_LIMIT = 1000
MAX_ITEMS = 1000
MAX_OFFSET = 2**31 - 1


def _limit():
    return mf.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=MAX_LIMIT))


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


class Paging(_Base):
    limit = _limit()
    offset = mf.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=MAX_OFFSET)
    )


class CursorPaging(_Base):
    limit = _limit()
    cursor = mf.String(allow_none=True)


class Sort(_Base):
    fieldName = mf.String(required=True)
    order = mf.String(load_default="ASC", validate=validate.OneOf(["ASC", "DESC"]))


class Query(_Base):
    filter = mf.Raw(allow_none=True)
    sort = mf.List(mf.Nested(Sort), allow_none=True)
    fields = mf.List(mf.String(), allow_none=True)
    paging = mf.Nested(Paging, allow_none=True)
    cursorPaging = mf.Nested(CursorPaging, allow_none=True)


class _CollectionRequest(_Base):
    collectionId = mf.String(required=True)
    consistentRead = mf.Boolean(allow_none=True)


class QueryRequest(_CollectionRequest):
    query = mf.Nested(Query, load_default=dict, allow_none=True)
    includeReferencedItems = mf.Raw(allow_none=True)
    returnTotalCount = mf.Boolean(load_default=False, allow_none=True)


class CountRequest(_CollectionRequest):
    filter = mf.Raw(allow_none=True)


class Aggregation(_Base):
    groupingFields = mf.List(mf.String(), allow_none=True)
    operations = mf.List(mf.Dict(), allow_none=True)


class AggregateRequest(_CollectionRequest):
    initialFilter = mf.Raw(allow_none=True)
    aggregation = mf.Nested(Aggregation, load_default=dict, allow_none=True)
    finalFilter = mf.Raw(allow_none=True)
    sort = mf.List(mf.Nested(Sort), allow_none=True)
    paging = mf.Nested(Paging, allow_none=True)
    returnTotalCount = mf.Boolean(load_default=False, allow_none=True)


class DistinctRequest(_CollectionRequest):
    filter = mf.Raw(allow_none=True)
    fieldName = mf.String(required=True)
    order = mf.String(load_default="ASC", allow_none=True, validate=validate.OneOf(["ASC", "DESC"]))
    paging = mf.Nested(Paging, allow_none=True)
    returnTotalCount = mf.Boolean(load_default=False, allow_none=True)


class ItemsRequest(_CollectionRequest):
    items = mf.List(mf.Raw(), required=True, validate=validate.Length(max=MAX_ITEMS))


class RemoveRequest(_CollectionRequest):
    itemIds = mf.List(mf.Raw(), required=True, validate=validate.Length(max=MAX_ITEMS))


class TruncateRequest(_CollectionRequest):
    pass


def load(schema: Schema, request: dict) -> dict:
    """Validate ``request``; a VALIDATION_ERROR naming every bad path otherwise."""
    try:
        return schema.load(request)
    except SchemaError as exc:
        raise ValidationError(list(_violations(exc.messages, request, ""))) from None


def _violations(messages, value, path):
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        yield violation(
            path,
            value if not isinstance(value, (dict, list)) or len(str(value)) < 200 else None,
            " ".join(messages),
        )
        return
    items = messages.items() if isinstance(messages, dict) else enumerate(messages)
    for key, inner in items:
        if isinstance(key, int):
            child_path = f"{path}[{key}]"
            child = value[key] if isinstance(value, list) and key < len(value) else None
        else:
            child_path = f"{path}.{key}" if path else key
            child = value.get(key) if isinstance(value, dict) else None
        yield from _violations(inner, child, child_path)


# --- collections, capabilities, indexes ----------------------------------------

ROLES = ["ADMIN", "SITE_MEMBER_AUTHOR", "SITE_MEMBER", "ANYONE"]


class Permissions(_Base):
    insert = mf.String(validate=validate.OneOf(ROLES))
    update = mf.String(validate=validate.OneOf(ROLES))
    remove = mf.String(validate=validate.OneOf(ROLES))
    read = mf.String(validate=validate.OneOf(ROLES))


class FieldSpec(_Base):
    key = mf.String(required=True, validate=validate.Length(min=1))
    displayName = mf.String(allow_none=True, validate=validate.Length(max=255))
    description = mf.String(allow_none=True)
    type = mf.String(required=True)
    encrypted = mf.Boolean(allow_none=True)
    singleReferenceOptions = mf.Dict(allow_none=True)
    multiReferenceOptions = mf.Dict(allow_none=True)


class CollectionSpec(_Base):
    id = mf.String(required=True, validate=validate.Length(min=1))
    displayName = mf.String(allow_none=True, validate=validate.Length(max=255))
    fields = mf.List(mf.Nested(FieldSpec), load_default=list)
    permissions = mf.Nested(Permissions, allow_none=True)
    # capabilities and pagingMode are the connector's to say: accepted, ignored.


class CollectionsGetRequest(_Base):
    collectionIds = mf.List(mf.String(), load_default=list, allow_none=True)


class CollectionRequest(_Base):
    collection = mf.Nested(CollectionSpec, required=True)


class CollectionIdRequest(_Base):
    collectionId = mf.String(required=True)


class CapabilitiesRequest(_Base):
    pass


class IndexField(_Base):
    path = mf.String(required=True)
    order = mf.String(load_default="ASC", validate=validate.OneOf(["ASC", "DESC"]))


class IndexSpec(_Base):
    name = mf.String(required=True, validate=validate.Length(min=1))
    fields = mf.List(mf.Nested(IndexField), required=True, validate=validate.Length(min=1))
    unique = mf.Boolean(load_default=False)
    caseInsensitive = mf.Boolean(load_default=False)


class IndexCreateRequest(_CollectionRequest):
    index = mf.Nested(IndexSpec, required=True)


class IndexRemoveRequest(_CollectionRequest):
    indexName = mf.String(required=True)


# --- references -------------------------------------------------------------------


class QueryReferencedRequest(_CollectionRequest):
    referringFieldKey = mf.String(required=True)
    referringItemIds = mf.List(mf.Raw(), load_default=list, allow_none=True)
    referencedItemIds = mf.List(mf.Raw(), load_default=list, allow_none=True)
    order = mf.String(load_default="ASC", allow_none=True, validate=validate.OneOf(["ASC", "DESC"]))
    paging = mf.Nested(Paging, allow_none=True)
    cursorPaging = mf.Nested(CursorPaging, allow_none=True)
    returnTotalCount = mf.Boolean(load_default=False, allow_none=True)
    includeReferencedItems = mf.Boolean(load_default=True, allow_none=True)
    fieldsToReturn = mf.List(mf.String(), allow_none=True)


class ReferencesRequest(_CollectionRequest):
    referringFieldKey = mf.String(required=True)
    references = mf.List(mf.Raw(), required=True, validate=validate.Length(max=MAX_ITEMS))
