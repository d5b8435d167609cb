"""items/query and items/count: filter, sort, projection, offset and cursor paging.

Cursor paging is keyset paging: a page continues from the sort-key values of
the previous page's last row, so a page deep into a large table costs about
what the first page costs. ``_id`` ends every sort, so the order is total.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .catalog import ID, Collection
from .cursors import CursorSigner, decode_key, encode_key
from .errors import BadRequest, ValidationError, violation
from .filters import FilterCompiler, UnknownField
from .operators import sortable

DEFAULT_LIMIT = 50


def compiler_for(collection: Collection) -> FilterCompiler:
    """A filter compiler over the collection's fields (and, for a caller who may
    read only their own items, those items alone)."""
    scope = None
    if collection.owner_scope is not None:
        scope = collection.fields["_owner"].column == collection.owner_scope
    return FilterCompiler(
        collection.target, collection.backend, collection.id_field.column, scope=scope
    )


@dataclass(frozen=True)
class SortKey:
    key: str
    target: object  # a catalog Field, or a derived field of an aggregate
    descending: bool


def sort_keys(resolve, sort: list[dict], *, path: str = "query.sort") -> list[SortKey]:
    """Validated sort keys; ``resolve(name)`` returns a field-like target or None."""
    keys = []
    for entry in sort or []:
        name = entry["fieldName"]
        target = resolve(name)
        if target is None:
            raise UnknownField(name)
        if not sortable(target.kind):
            raise ValidationError(
                [violation(name, name, f"{target.type} fields cannot be sorted.")]
            )
        keys.append(SortKey(name, target, entry.get("order", "ASC") == "DESC"))
    return keys


def _nullable(target) -> bool:
    column = getattr(target, "column", None)
    return column is None or bool(column.nullable)


def order_clauses(keys: list[SortKey], backend, *, reverse: bool = False) -> list:
    """ORDER BY for ``keys``: code-point text order, nulls first ascending."""
    clauses = []
    for key in keys:
        descending = key.descending != reverse
        expr = key.target.exact.desc() if descending else key.target.exact.asc()
        # PostgreSQL alone puts nulls last ascending. Only said where nulls can be:
        # a NULLS clause the index was not built with keeps the index from ordering.
        if backend.name == "postgresql" and _nullable(key.target):
            expr = expr.nulls_last() if descending else expr.nulls_first()
        clauses.append(expr)
    return clauses


def keyset_after(keys: list[SortKey], values: list, *, reverse: bool = False):
    """Rows strictly after ``values`` in the order of ``keys`` (before, if reverse)."""
    alternatives, equal = [], []
    for key, value in zip(keys, values, strict=True):
        expr = key.target.exact
        descending = key.descending != reverse
        if value is None:
            beyond = sa.false() if descending else expr.is_not(None)
            same = expr.is_(None)
        else:
            beyond = sa.or_(expr < value, expr.is_(None)) if descending else expr > value
            same = expr == value
        alternatives.append(sa.and_(*equal, beyond) if equal else beyond)
        equal.append(same)
    after = sa.or_(*alternatives)
    # The same rows, with the first key's range stated on its own: a condition an
    # index on that key can start its scan at, where the OR alone would make the
    # database walk the index from the start (a deep page would cost its depth).
    first, value = keys[0], values[0]
    descending = first.descending != reverse
    if value is not None and not (descending and _nullable(first.target)):
        bound = first.target.exact <= value if descending else first.target.exact >= value
        return sa.and_(bound, after)
    return after


def with_id(keys: list[SortKey], collection: Collection) -> list[SortKey]:
    """``keys`` ending in ``_id``, so the order is total (keyset paging needs it)."""
    if any(k.key == ID for k in keys):
        return keys
    return [*keys, SortKey(ID, collection.id_field, False)]


def projection(collection: Collection, fields: list[str] | None) -> list[str] | None:
    """The validated field keys to return (None: all of them). MULTI_REFERENCE
    fields are not part of items: naming them is allowed and returns nothing."""
    for key in fields or []:
        if collection.target(key) is None:
            raise UnknownField(key)
    return list(fields) if fields else None


def count(conn, collection: Collection, filter_) -> int:
    """The number of items ``filter_`` selects."""
    return _total(conn, collection, compiler_for(collection).compile(filter_, "filter"))


def page_bounds(paging: dict | None) -> tuple[int, int]:
    """(limit, offset) of an offset ``paging`` object, with the defaults."""
    paging = paging or {}
    limit = paging.get("limit")
    return (DEFAULT_LIMIT if limit is None else limit), (paging.get("offset") or 0)


def query(conn, collection: Collection, request: dict, signer: CursorSigner) -> dict:
    """The response of items/query for a validated ``request`` (referenced items
    are included by ``references.query_items``)."""
    q = request.get("query") or {}
    cursor_paging = q.get("cursorPaging")
    if cursor_paging is not None:
        return _cursor_page(conn, collection, q, cursor_paging, request, signer)
    return _offset_page(conn, collection, q, request)


def _offset_page(conn, collection: Collection, q: dict, request: dict) -> dict:
    limit, offset = page_bounds(q.get("paging"))
    where = compiler_for(collection).compile(q.get("filter"))
    keys = with_id(sort_keys(collection.fields.get, q.get("sort")), collection)
    fields = projection(collection, q.get("fields"))
    stmt = (
        sa.select(*collection.select_fields(fields))
        .where(where)
        .order_by(*order_clauses(keys, collection.backend))
        .limit(limit)
        .offset(offset)
    )
    items = collection.rows_to_items(conn.execute(stmt))
    metadata = {"count": len(items), "offset": offset}
    if request.get("returnTotalCount"):
        metadata["total"] = _total(conn, collection, where)
    return {"items": items, "pagingMetadata": metadata}


def _total(conn, collection, where) -> int:
    stmt = sa.select(sa.func.count()).select_from(collection.table).where(where)
    return conn.execute(stmt).scalar_one()


def _cursor_state(collection, q, cursor_paging, signer) -> dict:
    """What a cursor page continues from: the signed cursor's state, or a first
    page's (the request's filter, sort and projection)."""
    cursor = cursor_paging.get("cursor")
    if cursor:
        state = signer.load(cursor, collection_id=collection.id)
    else:
        state = {
            "c": collection.id,
            "f": q.get("filter"),
            "s": q.get("sort") or [],
            "p": q.get("fields") or [],
            "k": None,
            "d": "next",
        }
    limit = cursor_paging.get("limit")
    state["l"] = state.get("l", DEFAULT_LIMIT) if limit is None else limit
    return state


def _cursor_page(conn, collection, q, cursor_paging, request, signer) -> dict:
    state = _cursor_state(collection, q, cursor_paging, signer)
    limit = state["l"]
    where = compiler_for(collection).compile(state["f"])
    keys = with_id(sort_keys(collection.fields.get, state["s"]), collection)
    fields = projection(collection, state["p"])
    backward = state["d"] == "prev"
    key_labels = [f"__key{i}" for i in range(len(keys))]
    stmt = sa.select(
        *collection.select_fields(fields),
        *(k.target.expression.label(label) for k, label in zip(keys, key_labels, strict=True)),
    ).where(where)
    if state["k"] is not None:
        values = [decode_key(v) for v in state["k"]]
        if len(values) != len(keys):
            raise BadRequest("The cursor does not fit this collection any more.")
        stmt = stmt.where(keyset_after(keys, values, reverse=backward))
    stmt = stmt.order_by(*order_clauses(keys, collection.backend, reverse=backward))
    rows = conn.execute(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
    metadata = {
        "count": len(rows),
        "cursors": cursors_for(state, rows, key_labels, more, backward, signer),
    }
    if request.get("returnTotalCount"):
        metadata["total"] = _total(conn, collection, where)
    return {"items": collection.rows_to_items(rows), "pagingMetadata": metadata}


def cursors_for(state, rows, key_labels, more, backward, signer) -> dict:
    """``next`` when rows follow this page, ``prev`` when rows precede it."""

    def cursor_at(row, direction):
        keys_at = [encode_key(row._mapping[label]) for label in key_labels]
        return signer.dump({**state, "k": keys_at, "d": direction})

    cursors = {}
    continued = state["k"] is not None  # this page was reached from another one
    if rows:
        if more if not backward else continued:
            cursors["next"] = cursor_at(rows[-1], "next")
        if more if backward else continued:
            cursors["prev"] = cursor_at(rows[0], "prev")
    return cursors
