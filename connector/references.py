"""References between collections: includes and query-referenced.

A REFERENCE field is a column holding another collection's item id, with a
foreign key where the backend enforces them; a MULTI_REFERENCE field is a join
table (connector/joins.py). ``includeReferencedItems`` in items/query replaces
ids with the referenced items: one query per included field for the whole
page, never one per item.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .catalog import Collection
from .cursors import decode_key
from .errors import BadRequest, CollectionNotFound, ValidationError, violation
from .fieldtypes import id_to_database, id_to_wire
from .queries import (
    DEFAULT_LIMIT,
    SortKey,
    cursors_for,
    keyset_after,
    order_clauses,
    page_bounds,
    projection,
    query,
)


def query_items(conn, collection: Collection, request: dict, signer, collections) -> dict:
    """items/query, with the referenced items ``includeReferencedItems`` asks for.

    :param collections: looks up other collections (``Catalog.get``).
    """
    response = query(conn, collection, request, signer)
    includes = request.get("includeReferencedItems")
    if includes:
        include(conn, collection, response["items"], includes, collections)
    return response


def include(conn, collection: Collection, items: list[dict], includes, collections) -> None:
    """Replace the ids in ``items`` of each included REFERENCE field with the
    referenced item (an id whose item is gone stays the id).

    :param includes: the request's ``includeReferencedItems``: ``[{fieldKey, limit?}]``.
    :param collections: looks up the referenced collections (``Catalog.get``).
    """
    if not isinstance(includes, list):
        raise ValidationError(
            [
                violation(
                    "includeReferencedItems", includes, "Expected an array of {fieldKey, limit}."
                )
            ]
        )
    done = set()
    for i, spec in enumerate(includes):
        key = spec.get("fieldKey") if isinstance(spec, dict) else None
        if key in done and isinstance(key, str):
            continue  # the same field twice: once is enough
        done.add(key)
        multi = collection.multi.get(key) if isinstance(key, str) else None
        if multi is not None:
            _include_many(conn, collection, multi, items, spec.get("limit"), collections)
            continue
        field = collection.fields.get(key) if isinstance(key, str) else None
        if field is None or field.referenced is None:
            raise ValidationError(
                [
                    violation(
                        f"includeReferencedItems[{i}].fieldKey",
                        key,
                        "Not a reference field of the collection.",
                    )
                ]
            )
        ids = {item[key] for item in items if item.get(key) is not None}
        if not ids:
            continue
        try:
            target = collections(field.referenced)
        except CollectionNotFound:
            continue  # the referenced table is gone: the ids are all there is
        found = _items_by_id(conn, target, ids)
        for item in items:
            if item.get(key) in found:
                item[key] = found[item[key]]


def _items_by_id(conn, target: Collection, ids: set[str], fields=None) -> dict[str, dict]:
    keys = []
    for item_id in ids:
        try:
            keys.append(target.id_field.to_database(item_id))
        except ValueError:
            continue  # cannot be an id there: nothing to include
    if not keys:
        return {}
    stmt = sa.select(*target.select_fields(fields)).where(target.id_field.column.in_(keys))
    return {item["_id"]: item for item in target.rows_to_items(conn.execute(stmt))}


DEFAULT_INCLUDE_LIMIT = 50


def _include_many(conn, collection, multi, items, limit, collections) -> None:
    """Each item gets the array of items it refers to, in reference order, at most
    ``limit`` of them: one query for the whole page (a window numbers them)."""
    limit = DEFAULT_INCLUDE_LIMIT if not isinstance(limit, int) or limit < 0 else limit
    keys = {}
    for item in items:
        item[multi.key] = []
        keys[collection.id_field.to_database(item["_id"])] = item
    target = collections(multi.referenced)
    if not keys or limit == 0:
        return
    ordering = [c for c in (multi.created, multi.far) if c is not None]
    rank = sa.func.row_number().over(partition_by=multi.near, order_by=ordering)
    refs = (
        sa.select(multi.near.label("near"), multi.far.label("far"), rank.label("rank"))
        .where(multi.near.in_(list(keys)))
        .subquery()
    )
    stmt = (
        sa.select(refs.c.near, *target.select_fields())
        .join_from(refs, target.table, target.id_field.column == refs.c.far)
        .where(refs.c.rank <= limit)
        .order_by(refs.c.near, refs.c.rank)
    )
    rows = conn.execute(stmt).all()
    for row, item in zip(rows, target.rows_to_items(rows), strict=True):
        keys[row.near][multi.key].append(item)


# --- query-referenced ---------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """A join column seen as a sort target (for the keyset machinery of queries)."""

    exact: sa.ColumnElement
    kind: str = "TEXT"


def query_referenced(conn, collection: Collection, request: dict, signer, collections) -> dict:
    """The references of a MULTI_REFERENCE field, with the referenced items."""
    key = request["referringFieldKey"]
    multi = collection.multi.get(key)
    if multi is None:
        raise ValidationError(
            [violation("referringFieldKey", key, "Not a MULTI_REFERENCE field of the collection.")]
        )
    target = collections(multi.referenced)
    cursor_paging = request.get("cursorPaging")
    cursor = (cursor_paging or {}).get("cursor")
    state = (
        signer.load(cursor, collection_id=collection.id)
        if cursor
        else {
            "c": collection.id,
            "r": key,
            "ring": request.get("referringItemIds") or [],
            "red": request.get("referencedItemIds") or [],
            "o": request.get("order") or "ASC",
            # Follow-up pages send only the cursor: it carries what to return too.
            "i": request.get("includeReferencedItems") is not False,
            "p": request.get("fieldsToReturn") or [],
            "k": None,
            "d": "next",
        }
    )
    if state.get("r") != key:
        raise BadRequest("The cursor belongs to another field.")
    where = sa.and_(
        sa.true(),
        *(
            [multi.near.in_(_ids(collection.id_field.column, state["ring"]))]
            if state["ring"]
            else []
        ),
        *([multi.far.in_(_ids(multi.far, state["red"]))] if state["red"] else []),
    )
    if collection.owner_scope is not None:  # a member who reads only their own items
        owner = collection.fields["_owner"].column
        owned = sa.select(collection.id_field.column).where(owner == collection.owner_scope)
        where = sa.and_(where, multi.near.in_(owned))
    descending = state["o"] == "DESC"
    keys = [
        SortKey(c.key, _Column(c), descending)
        for c in (multi.created, multi.near, multi.far)
        if c is not None
    ]
    labels = [f"__key{i}" for i in range(len(keys))]
    stmt = sa.select(
        multi.near.label("near"),
        multi.far.label("far"),
        *(k.target.exact.label(label) for k, label in zip(keys, labels, strict=True)),
    ).where(where)
    if cursor_paging is not None:
        limit = cursor_paging.get("limit")
        state["l"] = state.get("l", DEFAULT_LIMIT) if limit is None else limit
        backward = state["d"] == "prev"
        if state["k"] is not None:
            stmt = stmt.where(
                keyset_after(keys, [decode_key(v) for v in state["k"]], reverse=backward)
            )
        stmt = stmt.order_by(*order_clauses(keys, collection.backend, reverse=backward))
        rows = conn.execute(stmt.limit(state["l"] + 1)).all()
        more = len(rows) > state["l"]
        rows = rows[: state["l"]]
        if backward:
            rows.reverse()
        metadata = {
            "count": len(rows),
            "cursors": cursors_for(state, rows, labels, more, backward, signer),
        }
    else:
        limit, offset = page_bounds(request.get("paging"))
        stmt = stmt.order_by(*order_clauses(keys, collection.backend)).limit(limit).offset(offset)
        rows = conn.execute(stmt).all()
        metadata = {"count": len(rows), "offset": offset}
    if request.get("returnTotalCount"):
        total = sa.select(sa.func.count()).select_from(multi.join).where(where)
        metadata["total"] = conn.execute(total).scalar_one()
    items = [
        {"referringItemId": id_to_wire(row.near), "referencedItemId": id_to_wire(row.far)}
        for row in rows
    ]
    if state["i"] and items:
        fields = projection(target, state["p"])
        found = _items_by_id(conn, target, {i["referencedItemId"] for i in items}, fields)
        for item in items:
            if item["referencedItemId"] in found:
                item["referencedItem"] = found[item["referencedItemId"]]
    return {"items": items, "pagingMetadata": metadata}


def _ids(column, values) -> list:
    converted = []
    for value in values:
        try:
            converted.append(id_to_database(column, value))
        except ValueError:
            continue  # cannot be an id there: matches nothing
    return converted or [None]
