"""Running a service call against a collection of the app's database.

Reads use a plain connection; writes one transaction. If a request names a
field or collection the cached schema does not know, or the database says the
cached schema is stale, the table is reflected again and the call retried once.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from . import config, dberrors, ddl, indexes, sqltypes, writes
from .catalog import Catalog, Collection
from .errors import CollectionChangeNotSupported, CollectionNotFound, ValidationError, violation
from .filters import UnknownField
from .sync import store as sync_store


def catalog() -> Catalog:
    """The current app's catalog."""
    return current_app.extensions["connector.catalog"]


def read(collection_id: str, fn: Callable, *args):
    """``fn(conn, collection, *args)`` on a read connection."""
    return _with_schema(collection_id, fn, args, write=False)


def write(collection_id: str, fn: Callable, *args, items: list | None = None):
    """``fn(conn, collection, *args)`` in one write transaction.

    :param items: the request's items; when they name fields the cached schema
        lacks (a column added by another tool), the schema is refreshed first.
    """
    return _with_schema(collection_id, fn, args, write=True, items=items)


def _with_schema(collection_id, fn, args, *, write: bool, items=None):
    cat = catalog()
    collection = cat.get(collection_id)
    if items is not None and writes.unknown_keys(collection, items):
        collection = cat.refresh(collection_id)
    try:
        return _run(cat, collection, fn, args, write)
    except UnknownField:
        fresh = cat.refresh(collection_id)
        if fresh.fields.keys() == collection.fields.keys():
            raise
        return _run(cat, fresh, fn, args, write)
    except sa.exc.DBAPIError as exc:
        if dberrors.unavailable(exc):
            raise
        # Possibly a column or table changed by another tool: look again, once.
        return _run(cat, cat.refresh(collection_id), fn, args, write)


def _run(cat: Catalog, collection: Collection, fn, args, write: bool):
    with cat.engine.connect() as conn:
        if write:
            conn.execution_options(connector_write=True)
            with conn.begin():
                result = fn(conn, collection, *args)
                if collection.tracked:  # the change history, in the same transaction
                    sync_store.settle(
                        conn, collection, current_app.extensions["connector.sync"].settings
                    )
                return result
        if collection.backend.read_isolation:
            conn.execution_options(isolation_level=collection.backend.read_isolation)
        return fn(conn, collection, *args)


# --- the schema side ------------------------------------------------------------


def _schema_changes_allowed() -> None:
    if config.flag(current_app.config.get("CONNECTOR_READ_ONLY_SCHEMA")):
        raise CollectionChangeNotSupported(
            [], "This connector does not change collections (CONNECTOR_READ_ONLY_SCHEMA)."
        )


def collections(collection_ids: list[str]) -> list[Collection]:
    """The requested collections (all when none are named); unknown ids skipped."""
    cat = catalog()
    found = []
    for collection_id in collection_ids or cat.collection_ids():
        try:
            found.append(cat.get(collection_id))
        except CollectionNotFound:
            continue
    return found


def create_collection(spec: dict) -> Collection:
    _schema_changes_allowed()
    return ddl.create(catalog().engine, catalog(), spec)


def update_collection(spec: dict) -> Collection:
    _schema_changes_allowed()
    return ddl.update(catalog().engine, catalog(), spec)


def delete_collection(collection_id: str) -> None:
    _schema_changes_allowed()
    ddl.delete(catalog().engine, catalog(), collection_id)


def capabilities() -> dict:
    """capabilities/get: derived from the database's dialect and the settings."""
    engine = catalog().engine
    modifiable = not config.flag(current_app.config.get("CONNECTOR_READ_ONLY_SCHEMA"))
    most = int(current_app.config["CONNECTOR_MAX_INDEXES"])
    return {
        "supportsCollectionModifications": modifiable,
        "supportedFieldTypes": sqltypes.supported_types(engine.dialect) if modifiable else [],
        "indexOptions": {
            "supportsIndexes": True,
            "maxNumberOfRegularIndexesPerCollection": most,
            "maxNumberOfUniqueIndexesPerCollection": most,
            "maxNumberOfIndexesPerCollection": most,
        },
    }


def list_indexes(collection_id: str) -> list[dict]:
    return indexes.list_indexes(catalog().engine, catalog().get(collection_id))


def create_index(collection_id: str, spec: dict) -> dict:
    _schema_changes_allowed()
    most = int(current_app.config["CONNECTOR_MAX_INDEXES"])
    return indexes.create_index(catalog().engine, catalog().get(collection_id), spec, most=most)


def remove_index(collection_id: str, name: str) -> None:
    _schema_changes_allowed()
    indexes.remove_index(catalog().engine, catalog().get(collection_id), name)


# --- references ---------------------------------------------------------------------


def change_references(request: dict, *, insert: bool) -> list[dict]:
    """insert-references / remove-references, through the write path."""

    def change(conn, collection):
        key = request["referringFieldKey"]
        multi = collection.multi.get(key)
        if multi is None:
            raise ValidationError(
                [
                    violation(
                        "referringFieldKey", key, "Not a MULTI_REFERENCE field of the collection."
                    )
                ]
            )
        if insert:
            referenced = catalog().get(multi.referenced)
            return writes.insert_references(
                conn, collection, multi, request["references"], referenced
            )
        return writes.remove_references(conn, collection, multi, request["references"])

    return write(request["collectionId"], change)
