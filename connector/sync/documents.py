"""Documents as items: ``_id`` is the key, top-level fields are columns.

A field the table has no column for goes to the collection's overflow field (a
JSON object column, ``overflow`` unless ``CONNECTOR_SYNC_OVERFLOW_FIELD`` says
otherwise) when it has one, and is refused (``forbidden``) otherwise: never
dropped. The Wix system fields (``_createdDate``, ``_updatedDate``, ``_owner``)
are the server's and stay out of documents: CouchDB-protocol clients refuse
``_`` members they do not know.
"""

from __future__ import annotations

from ..catalog import ID
from ..fieldtypes import OBJECT, Invalid, base_type
from .errors import BadRequest, Forbidden

SYSTEM_FIELDS = ("_createdDate", "_updatedDate", "_owner")
#: ``_`` members a client may send; the server reads them and never stores them as fields.
SPECIAL = frozenset(
    {
        "_id",
        "_rev",
        "_deleted",
        "_revisions",
        "_attachments",
        "_conflicts",
        "_deleted_conflicts",
        "_revs_info",
        "_local_seq",
        "_exp",
        "_removed",
    }
)


def overflow_field(collection, key: str):
    """The collection's overflow field, when it has a JSON object column of that name."""
    field = collection.fields.get(key)
    if field is not None and base_type(field.type) == OBJECT:
        return field
    return None


def body_from_item(collection, item: dict, *, overflow: str) -> dict:
    """A document body (no ``_id``) of a wire item: fields with a value, overflow merged."""
    body = {}
    extra = item.get(overflow) if overflow_field(collection, overflow) else None
    for key, value in item.items():
        if key == ID or key in SYSTEM_FIELDS or value is None:
            continue
        if extra is not None and key == overflow:
            continue
        body[key] = value
    if isinstance(extra, dict):
        for key, value in extra.items():
            body.setdefault(key, value)
    return body


def check_members(doc: dict) -> None:
    """BadRequest for a ``_`` member the protocol does not define."""
    for key in doc:
        if key.startswith("_") and key not in SPECIAL:
            raise BadRequest(f"Document member {key!r} is not allowed: '_' names are reserved.")


def user_fields(doc: dict) -> dict:
    """The document's own fields (no ``_`` members)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def item_from_body(collection, doc_id: str, body: dict, *, overflow: str) -> dict:
    """The wire item a document body is stored as; Forbidden or BadRequest when the
    collection cannot hold it exactly."""
    item, extra = {ID: doc_id}, {}
    spill = overflow_field(collection, overflow)
    for key, value in user_fields(body).items():
        field = collection.fields.get(key)
        if field is not None and key not in SYSTEM_FIELDS and field is not spill:
            try:
                field.to_database(value)
            except Invalid as exc:
                raise BadRequest(f"Field {key!r}: {exc}") from None
            item[key] = value
        elif spill is not None:
            extra[key] = value
        else:
            raise Forbidden(
                f"The collection has no field {key!r} and no overflow field to keep it in."
            )
    if spill is not None:
        item[overflow] = extra or None
    try:
        collection.id_field.to_database(doc_id)
    except Invalid as exc:
        raise BadRequest(f"Document id {doc_id!r}: {exc}") from None
    return item
