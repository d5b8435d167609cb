"""Running a service call against a collection of the app's database.

Reads use a plain connection; writes one transaction. If a request names a
field or collection the cached schema does not know, or the database says the
cached schema is stale, the table is reflected again and the call retried once.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from . import dberrors, writes
from .catalog import Catalog, Collection
from .filters import UnknownField


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
                return fn(conn, collection, *args)
        return fn(conn, collection, *args)
