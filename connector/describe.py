"""Collections as the Wix contract describes them (collections/get and the
answers of create and update): fields with their capabilities, the data
operations the connector really implements, permissions and paging mode."""

from __future__ import annotations

from . import fieldtypes, operators
from .catalog import ID, Collection, Field
from .joins import MultiReference

READ_OPERATIONS = ["QUERY", "COUNT", "AGGREGATE", "DISTINCT"]
WRITE_OPERATIONS = ["INSERT", "UPDATE", "REMOVE", "TRUNCATE"]
REFERENCE_OPERATIONS = ["QUERY_REFERENCED", "INSERT_REFERENCES", "REMOVE_REFERENCES"]
SYSTEM_DISPLAY_NAMES = {
    "_id": "ID",
    "_createdDate": "Created Date",
    "_updatedDate": "Updated Date",
    "_owner": "Owner",
}
# Both paging modes work; OFFSET keeps site code's .skip() working as on Wix.
PAGING_MODE = "OFFSET"


def describe_field(collection: Collection, field: Field) -> dict:
    """One field: its Wix type and what filters and sorts accept on it."""
    info = collection.info.fields.get(field.key)
    described = {
        "key": field.key,
        "displayName": (info and info.display_name)
        or SYSTEM_DISPLAY_NAMES.get(field.key, field.key),
    }
    if info is not None and info.description:
        described["description"] = info.description
    described["type"] = fieldtypes.TEXT if field.key == ID else field.type
    if field.referenced is not None:
        described["singleReferenceOptions"] = {"referencedCollectionId": field.referenced}
    described.update(
        encrypted=False,
        capabilities={
            "sortable": operators.sortable(field.kind),
            "queryOperators": operators.capabilities(field.kind),
        },
    )
    return described


def describe_multi_reference(collection: Collection, multi: MultiReference) -> dict:
    """A MULTI_REFERENCE field: its references live in a join table."""
    info = collection.info.fields.get(multi.key)
    options = {"referencedCollectionId": multi.referenced}
    if multi.reverse_key:
        options["referencedCollectionFieldKey"] = multi.reverse_key
    return {
        "key": multi.key,
        "displayName": (info and info.display_name) or multi.key,
        "type": fieldtypes.MULTI_REFERENCE,
        "multiReferenceOptions": options,
        "encrypted": False,
        "capabilities": {
            "sortable": False,
            "queryOperators": operators.capabilities(fieldtypes.MULTI_REFERENCE),
        },
    }


def describe(collection: Collection) -> dict:
    """The collection as collections/get reports it."""
    operations = READ_OPERATIONS + ([] if collection.read_only else WRITE_OPERATIONS)
    if collection.multi and not collection.read_only:
        operations = operations + REFERENCE_OPERATIONS
    return {
        "id": collection.id,
        "displayName": collection.info.display_name or collection.id,
        "fields": [describe_field(collection, f) for f in collection.fields.values()]
        + [describe_multi_reference(collection, m) for m in collection.multi.values()],
        "capabilities": {"dataOperations": operations},
        "permissions": dict(collection.info.permissions),
        "pagingMode": PAGING_MODE,
    }
