"""Running a service call against a collection of the app's database.

Reads use a plain connection; writes one transaction. If a request names a
field or collection the cached schema does not know, or the database says the
cached schema is stale, the table is reflected again and the call retried once.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app, g

from . import config, dberrors, ddl, indexes, permissions, sqltypes, writes
from .catalog import Catalog, Collection
from .cursors import CursorSigner
from .errors import (
    CollectionChangeNotSupported,
    CollectionNotFound,
    DatabaseUnavailable,
    ValidationError,
    violation,
)
from .filters import UnknownField
from .sync import store as sync_store

log = logging.getLogger("connector")


def catalog() -> Catalog:
    """The catalog of the current request's database (its site's, with
    ``CONNECTOR_TENANTS``; else the app's)."""
    database = g.get("database")
    return database.catalog if database else current_app.extensions["connector.catalog"]


def cursors() -> CursorSigner:
    """The cursor signer of the current request's database."""
    database = g.get("database")
    return database.cursors if database else current_app.extensions["connector.cursors"]


def read(collection_id: str, fn: Callable, *args):
    """``fn(conn, collection, *args)`` on a read connection."""
    return _with_schema(collection_id, fn, args, operation="read")


def write(collection_id: str, fn: Callable, *args, operation: str, items: list | None = None):
    """``fn(conn, collection, *args)`` in one write transaction.

    :param operation: ``insert``, ``update``, ``remove`` or ``truncate``: what the
        caller's permissions must allow (see :func:`_permitted`).
    :param items: the request's items; when they name fields the cached schema
        lacks (a column added by another tool), the schema is refreshed first.
    """
    return _with_schema(collection_id, fn, args, operation=operation, items=items)


def _with_schema(collection_id, fn, args, *, operation: str, items=None):
    cat = catalog()
    collection = cat.get(collection_id)
    if items is not None and writes.unknown_keys(collection, items):
        collection = cat.refresh(collection_id)
    try:
        return _run_schema_current(cat, collection_id, collection, fn, args, operation)
    except UnknownField:
        fresh = cat.refresh(collection_id)
        if fresh.fields.keys() == collection.fields.keys():
            raise
        return _run(cat, fresh, fn, args, operation)
    except sa.exc.DBAPIError as exc:
        if dberrors.unavailable(exc):
            raise
        # Possibly a column or table changed by another tool: look again, once.
        return _run(cat, cat.refresh(collection_id), fn, args, operation)


#: Runs of a request whose collection another process (or thread) changed meanwhile.
SCHEMA_ATTEMPTS = 3


def _run_schema_current(
    cat: Catalog, collection_id: str, collection: Collection, fn, args, operation
):
    """``_run``, again against the schema as it is now while it has changed under
    the request (nothing ran yet then); 503 if it keeps changing."""
    for _ in range(SCHEMA_ATTEMPTS):
        try:
            return _run(cat, collection, fn, args, operation)
        except SchemaChanged:
            collection = cat.get(collection_id)
    raise DatabaseUnavailable(
        "The collection's schema kept changing while this request ran; try again."
    )


#: Attempts of a write whose transaction the database aborted as a whole.
WRITE_ATTEMPTS = 4


def _run(cat: Catalog, collection: Collection, fn, args, operation: str):
    collection, fn, args = permissions.narrow(collection, operation, fn, args, caller())
    write = operation != "read"
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return _run_once(cat, collection, fn, args, write)
        except sa.exc.DBAPIError as exc:
            # A deadlock or serialization failure rolled the whole transaction
            # back, so running it again from the start is safe; anything else is not.
            if not write or attempt == WRITE_ATTEMPTS or not dberrors.retryable(exc):
                raise
            log.info("write transaction aborted (%s); attempt %d", dberrors.describe(exc), attempt)
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # let the other side finish


class SchemaChanged(Exception):
    """Another process changed a schema since this one cached its collections."""


def _run_once(cat: Catalog, collection: Collection, fn, args, write: bool):
    if write:
        with cat.engine.connect() as conn:
            conn.execution_options(connector_write=True)
            with conn.begin():
                if cat.check_version(conn, collection):
                    raise SchemaChanged
                result = fn(conn, collection, *args)
                if collection.tracked:  # the change history, in the same transaction
                    sync_store.settle(
                        conn, collection, current_app.extensions["connector.sync"].settings
                    )
                return result
    replica = _replica(cat)
    if replica is not None:
        try:
            return _read_on(replica, cat, collection, fn, args)
        except sa.exc.DBAPIError as exc:
            if dberrors.timed_out(exc):
                raise  # the primary would take as long
            # A replica that is down, or has not yet replayed a schema change the
            # catalog (reflected from the primary) already knows.
            log.warning(
                "read replica failed (%s); reading from the primary", dberrors.describe(exc)
            )
    return _read_on(cat.engine, cat, collection, fn, args)


def _read_on(engine: sa.Engine, cat: Catalog, collection: Collection, fn, args):
    with engine.connect() as conn:
        if collection.backend.read_isolation:
            conn.execution_options(isolation_level=collection.backend.read_isolation)
        if cat.check_version(conn, collection):
            raise SchemaChanged
        return fn(conn, collection, *args)


#: Which replica the next read goes to (per process; a plain counter is enough
#: to spread reads, and ``next`` on it is atomic under the GIL).
_turns = itertools.count()


def _replica(cat: Catalog) -> sa.Engine | None:
    """The read replica this read goes to: none for a site's own database, or
    when the request asked for ``consistentRead`` (it must see every write)."""
    replicas = current_app.extensions["connector.replicas"]
    if not replicas or g.get("database") or g.get("consistent_read"):
        return None
    return replicas[next(_turns) % len(replicas)]


# --- permissions ------------------------------------------------------------------


def _enforcing() -> bool:
    return config.flag(current_app.config.get("CONNECTOR_ENFORCE_PERMISSIONS"))


def caller() -> permissions.Caller:
    """Who sent the current request (ADMIN when permissions are not enforced)."""
    if not _enforcing():
        return permissions.ADMIN_CALLER
    return g.get("caller", permissions.ADMIN_CALLER)


def readable(collection_id: str) -> Collection:
    """Another collection a read includes items of (references): the caller must
    be allowed to read all of it."""
    collection = catalog().get(collection_id)
    who = caller()
    if who.role != permissions.ADMIN and permissions.authorize(collection, "read", who):
        raise permissions.PermissionDenied(
            f"The collection {collection_id!r} lets members read only their own items; "
            "its items cannot be included here.",
            collectionId=collection_id,
        )
    return collection


def _admin_only(what: str) -> None:
    if caller().role != permissions.ADMIN:
        raise permissions.PermissionDenied(f"Only an admin may {what}.")


# --- the schema side ------------------------------------------------------------


def _schema_changes_allowed() -> None:
    _admin_only("change collections and indexes")
    if config.flag(current_app.config.get("CONNECTOR_READ_ONLY_SCHEMA")):
        raise CollectionChangeNotSupported(
            [], "This connector does not change collections (CONNECTOR_READ_ONLY_SCHEMA)."
        )


def collections(collection_ids: list[str]) -> list[Collection]:
    """The requested collections (all when none are named); unknown ids skipped."""
    cat = catalog()
    with cat.engine.connect() as conn:  # schema changes other processes made
        cat.check_version(conn)
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

    def change(conn, collection, pairs):
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
            return writes.insert_references(conn, collection, multi, pairs, referenced)
        return writes.remove_references(conn, collection, multi, pairs)

    return write(request["collectionId"], change, request["references"], operation="references")
