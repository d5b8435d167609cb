"""Writes of items: insert, update (complete replacement), remove, truncate.

A request's writes run in one transaction. Items are validated first; the rest
are written as one batch (a 1000-item insert is one statement per distinct set
of fields, not 1000 round trips). If the batch hits a database error, it is
rolled back to a savepoint and replayed item by item, each in its own
savepoint, so a failing item leaves no trace and does not stop the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from .. import dberrors
from ..catalog import ID, Collection
from ..errors import (
    ConnectorError,
    ItemAlreadyExists,
    ItemNotFound,
    ReadOnlyCollection,
    ValidationError,
    violation,
)
from ..fieldtypes import TEXT, Invalid
from . import batches

log = logging.getLogger(__name__)

CREATED, UPDATED, OWNER = "_createdDate", "_updatedDate", "_owner"
SERVER_SET = (CREATED, UPDATED)
#: System fields Wix always sends; a table without them simply doesn't keep them.
OPTIONAL_SYSTEM_FIELDS = frozenset({OWNER, CREATED, UPDATED})


def now() -> dt.datetime:
    """The current UTC time at the millisecond precision of the wire."""
    t = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _writable(collection: Collection) -> None:
    if collection.read_only:
        raise ReadOnlyCollection(collection.id)


def _error(exc: ConnectorError) -> dict:
    return {"error": exc.body}


def _convert(collection: Collection, item, *, skip=()) -> dict:
    """Column values (by field key) of a wire item; ValidationError on any bad field."""
    if not isinstance(item, dict):
        raise ValidationError([violation("item", item, "An item must be an object.")])
    row, violations = {}, []
    for key, value in item.items():
        field = collection.fields.get(key)
        if field is None:
            if key not in OPTIONAL_SYSTEM_FIELDS:
                violations.append(violation(key, value, f"Unknown field {key!r}."))
            continue
        if key in skip:
            continue
        try:
            row[key] = field.to_database(value)
        except Invalid as exc:
            violations.append(violation(key, value, str(exc)))
    if violations:
        raise ValidationError(violations)
    return row


def _required(collection: Collection, row: dict, *, inserting: bool) -> None:
    """Name the NOT NULL fields a row would leave null, before the database refuses it."""
    violations = []
    for key, field in collection.fields.items():
        column = field.column
        if column.nullable or key == ID or row.get(key) is not None:
            continue
        if key in row or (inserting and column.server_default is None and column.default is None):
            violations.append(
                violation(key, None, "The field is required (its column is NOT NULL).")
            )
    if violations:
        raise ValidationError(violations)


def unknown_keys(collection: Collection, items: Iterable) -> bool:
    """Whether any item names a field the cached schema lacks (time to refresh it)."""
    return any(
        key not in collection.fields and key not in OPTIONAL_SYSTEM_FIELDS
        for item in items
        if isinstance(item, dict)
        for key in item
    )


def _columns(collection: Collection, row: dict) -> dict:
    return {collection.fields[k].column.key: v for k, v in row.items()}


def stored_rows(conn, collection: Collection, ids: list, *, lock: bool) -> dict:
    """Stored rows keyed by their raw id, optionally locked for this transaction."""
    if not ids:
        return {}
    id_column = collection.id_field.column
    stmt = sa.select(*collection.select_fields()).where(id_column.in_(ids))
    if lock and conn.dialect.name != "sqlite":  # SQLite's write lock covers it
        stmt = stmt.with_for_update()
    return {row._mapping[ID]: row for row in conn.execute(stmt)}


# --- insert -------------------------------------------------------------------


def insert(conn, collection: Collection, items: list) -> list[dict]:
    """Insert ``items``; one result per item, in order: the stored item or an error."""
    _writable(collection)
    stamp = now()
    results: list[dict | None] = [None] * len(items)
    pending: dict[int, dict] = {}
    seen = set()
    generated = set()  # ids made here are new: no need to look for them
    id_field = collection.id_field
    for i, item in enumerate(items):
        try:
            row = _convert(collection, item, skip=SERVER_SET)
            if row.get(ID) is None:
                row.pop(ID, None)
                if id_field.kind == TEXT:
                    row[ID] = str(uuid.uuid4())
                    generated.add(i)
            for key in SERVER_SET:
                if key in collection.fields:
                    row[key] = stamp
            _required(collection, row, inserting=True)
        except ValidationError as exc:
            results[i] = _error(exc)
            continue
        if ID in row:
            if row[ID] in seen:
                results[i] = _error(ItemAlreadyExists(id_field.to_wire(row[ID])))
                continue
            seen.add(row[ID])
        pending[i] = row
    given = [r[ID] for i, r in pending.items() if ID in r and i not in generated]
    existing = stored_rows(conn, collection, given, lock=False)
    for i in [i for i, r in pending.items() if r.get(ID) in existing]:
        results[i] = _error(ItemAlreadyExists(id_field.to_wire(pending.pop(i)[ID])))
    _write_batch(conn, collection, pending, results, _insert_rows, _insert_one_error)
    return results


def _insert_rows(conn, collection: Collection, rows: list[dict]) -> list:
    """Insert rows (all with the same fields); the stored rows, in order."""
    if conn.dialect.insert_executemany_returning_sort_by_parameter_order:
        return batches.insert_rows(conn, collection, [_columns(collection, r) for r in rows])
    ids = []  # no RETURNING (MySQL proper): insert one by one, read back
    for row in rows:
        result = conn.execute(collection.table.insert(), _columns(collection, row))
        ids.append(row.get(ID, result.inserted_primary_key[0]))
    stored = stored_rows(conn, collection, ids, lock=False)
    return [stored[i] for i in ids]


def _insert_one_error(conn, collection, row, exc) -> ConnectorError:
    if ID in row and dberrors.duplicate_primary_key(exc, collection.table):
        return ItemAlreadyExists(collection.id_field.to_wire(row[ID]))
    # Otherwise ask the table. A locking read sees the newest committed row: under
    # REPEATABLE READ (MySQL) a plain one reads the snapshot from before a
    # concurrent insert of this id.
    if ID in row and stored_rows(conn, collection, [row[ID]], lock=True):
        return ItemAlreadyExists(collection.id_field.to_wire(row[ID]))
    return _refused(exc)


# --- update -------------------------------------------------------------------


def update(conn, collection: Collection, items: list) -> list[dict]:
    """Replace ``items`` completely; one result per item: the stored item or an error."""
    _writable(collection)
    stamp = now()
    results: list[dict | None] = [None] * len(items)
    pending: dict[int, dict] = {}
    for i, item in enumerate(items):
        try:
            row = _convert(collection, item, skip=SERVER_SET)
            if row.get(ID) is None:
                raise ValidationError([violation(ID, None, "An item to update needs an _id.")])
            # Complete replacement: every field the item lacks becomes null, except
            # the ones the server keeps (created date, owner when not sent).
            for key in collection.fields:
                if key not in row and key not in (CREATED, OWNER):
                    row[key] = None
            if UPDATED in collection.fields:
                row[UPDATED] = stamp
            _required(collection, row, inserting=False)
        except ValidationError as exc:
            results[i] = _error(exc)
            continue
        pending[i] = row
    existing = stored_rows(conn, collection, [r[ID] for r in pending.values()], lock=True)
    for i in [i for i, r in pending.items() if r[ID] not in existing]:
        results[i] = _error(ItemNotFound(collection.id_field.to_wire(pending.pop(i)[ID])))
    _write_batch(conn, collection, pending, results, _update_rows, _update_one_error)
    return results


def _update_rows(conn, collection: Collection, rows: list[dict]) -> list:
    id_column = collection.id_field.column
    names = {key: f"v{n}" for n, key in enumerate(rows[0]) if key != ID}
    stmt = (
        collection.table.update()
        .where(id_column == sa.bindparam("v_id"))
        .values({collection.fields[k].column: sa.bindparam(p) for k, p in names.items()})
    )
    params = [{"v_id": r[ID], **{p: r[k] for k, p in names.items()}} for r in rows]
    conn.execute(stmt, params)
    stored = stored_rows(conn, collection, [r[ID] for r in rows], lock=False)
    return [stored[r[ID]] for r in rows]


def _refused(exc: sa.exc.DBAPIError) -> ConnectorError:
    log.info("database refused an item: %s", dberrors.describe(exc))
    message = dberrors.refusal(exc)
    return ValidationError([violation("item", None, message)], message)


def _update_one_error(conn, collection, row, exc) -> ConnectorError:
    return _refused(exc)


# --- remove and truncate ------------------------------------------------------


def remove(conn, collection: Collection, item_ids: list) -> list[dict]:
    """Remove items by id; one result per id: the item as it was, or an error."""
    _writable(collection)
    results: list[dict | None] = [None] * len(item_ids)
    wanted: dict[int, object] = {}
    for i, item_id in enumerate(item_ids):
        try:
            wanted[i] = collection.id_field.to_database(item_id)
        except Invalid as exc:
            results[i] = _error(ValidationError([violation(ID, item_id, str(exc))]))
    stored = stored_rows(conn, collection, list(wanted.values()), lock=True)
    removed = set()
    for i, key in wanted.items():
        if key not in stored or key in removed:
            results[i] = _error(ItemNotFound(collection.id_field.to_wire(key)))
        else:
            removed.add(key)
    if removed:
        id_column = collection.id_field.column
        try:
            with conn.begin_nested():
                conn.execute(collection.table.delete().where(id_column.in_(list(removed))))
        except sa.exc.DBAPIError as exc:
            if dberrors.unavailable(exc):
                raise
            removed = _remove_one_by_one(conn, collection, removed, wanted, results)
    for i, key in wanted.items():
        if results[i] is None:
            results[i] = {"item": collection.row_to_item(stored[key])}
    return results


def _remove_one_by_one(conn, collection, keys, wanted, results) -> set:
    id_column = collection.id_field.column
    done = set()
    for key in keys:
        try:
            with conn.begin_nested():
                conn.execute(collection.table.delete().where(id_column == key))
            done.add(key)
        except sa.exc.DBAPIError as exc:
            if dberrors.unavailable(exc):
                raise
            first = next(i for i, k in wanted.items() if k == key)
            results[first] = _error(_refused(exc))
    return done


def truncate(conn, collection: Collection) -> None:
    """Remove every item (a DELETE, so it is transactional and hooks see it)."""
    _writable(collection)
    conn.execute(collection.table.delete())


# --- the batch mechanism ------------------------------------------------------


def _write_batch(conn, collection, pending: dict[int, dict], results, write, explain) -> None:
    """Write ``pending`` rows (by result index) in batches of equal fields, falling
    back to one savepoint per row when a batch fails."""
    groups: dict[tuple, list[int]] = {}
    for i, row in pending.items():
        groups.setdefault(tuple(sorted(row)), []).append(i)
    for indexes in groups.values():
        rows = [pending[i] for i in indexes]
        try:
            with conn.begin_nested():
                stored = write(conn, collection, rows)
        except sa.exc.DBAPIError as exc:
            if dberrors.unavailable(exc):
                raise
            stored = []
            for i, row in zip(indexes, rows, strict=True):
                try:
                    with conn.begin_nested():
                        stored.append(write(conn, collection, [row])[0])
                except sa.exc.DBAPIError as exc:
                    if dberrors.unavailable(exc):
                        raise
                    results[i] = _error(explain(conn, collection, row, exc))
                    stored.append(None)
        written = [(i, row) for i, row in zip(indexes, stored, strict=True) if row is not None]
        items = collection.rows_to_items([row for _, row in written])
        for (i, _), item in zip(written, items, strict=True):
            results[i] = {"item": item}
