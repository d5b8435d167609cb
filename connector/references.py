"""References between collections.

A REFERENCE field is a column holding another collection's item id, with a
foreign key where the backend enforces them. ``includeReferencedItems`` in
items/query replaces those ids with the referenced items: one query per
included field for the whole page, never one per item.
"""

from __future__ import annotations

import sqlalchemy as sa

from .catalog import Collection
from .errors import CollectionNotFound, ValidationError, violation


def include(conn, collection: Collection, items: list[dict], includes, collections) -> None:
    """Replace the ids in ``items`` of each included REFERENCE field with the
    referenced item (an id whose item is gone stays the id).

    :param includes: the request's ``includeReferencedItems``: ``[{fieldKey, limit?}]``.
    :param collections: looks up the referenced collections (``Catalog.get``).
    """
    for i, spec in enumerate(includes or []):
        key = spec.get("fieldKey") if isinstance(spec, dict) else None
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


def _items_by_id(conn, target: Collection, ids: set[str]) -> dict[str, dict]:
    keys = []
    for item_id in ids:
        try:
            keys.append(target.id_field.to_database(item_id))
        except ValueError:
            continue  # cannot be an id there: nothing to include
    if not keys:
        return {}
    stmt = sa.select(*target.select_fields()).where(target.id_field.column.in_(keys))
    found = (target.row_to_item(row) for row in conn.execute(stmt))
    return {item["_id"]: item for item in found}
