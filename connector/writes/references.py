"""Writes of references: the pairs of a MULTI_REFERENCE field's join table."""

from __future__ import annotations

import sqlalchemy as sa

from ..catalog import Collection
from ..errors import (
    ItemNotFound,
    ReferenceAlreadyExists,
    ReferenceNotFound,
    ValidationError,
    violation,
)
from ..fieldtypes import Invalid, id_to_database
from .items import _error, now


def _pair(multi, reference) -> tuple:
    """(referring id, referenced id) as the join table binds them."""
    if not isinstance(reference, dict):
        raise ValidationError([violation("references", reference, "A reference is an object.")])
    try:
        return (
            _reference_id(multi.near, reference.get("referringItemId")),
            _reference_id(multi.far, reference.get("referencedItemId")),
        )
    except Invalid as exc:
        raise ValidationError([violation("references", reference, str(exc))]) from None


def _reference_id(column, value):
    if value is None:
        raise Invalid("Both referringItemId and referencedItemId are needed.")
    return id_to_database(column, value)


def _reference_wire(reference: dict) -> dict:
    return {
        "referringItemId": reference.get("referringItemId"),
        "referencedItemId": reference.get("referencedItemId"),
    }


def _existing_pairs(conn, multi, pairs) -> set:
    """Which of ``pairs`` the join table holds (one query, rows of the pairs only)."""
    if not pairs:
        return set()
    pair = sa.tuple_(multi.near, multi.far)
    rows = conn.execute(sa.select(multi.near, multi.far).where(pair.in_(list(set(pairs)))))
    return {tuple(row) for row in rows}


def _existing_ids(conn, collection: Collection, ids) -> set:
    if not ids:
        return set()
    column = collection.id_field.column
    return set(conn.execute(sa.select(column).where(column.in_(list(ids)))).scalars())


def insert_references(conn, collection: Collection, multi, references: list, referenced) -> list:
    """Add references of a MULTI_REFERENCE field; one result per reference, in
    order: the reference, or REFERENCE_ALREADY_EXISTS / ITEM_NOT_FOUND."""
    results: list[dict | None] = [None] * len(references)
    pairs: dict[int, tuple] = {}
    for i, reference in enumerate(references):
        try:
            pairs[i] = _pair(multi, reference)
        except ValidationError as exc:
            results[i] = _error(exc)
    referring_ids = _existing_ids(conn, collection, {p[0] for p in pairs.values()})
    referenced_ids = _existing_ids(conn, referenced, {p[1] for p in pairs.values()})
    existing = _existing_pairs(conn, multi, list(pairs.values()))
    rows, stamp = [], now()
    for i, (near, far) in pairs.items():
        wire = _reference_wire(references[i])
        if near not in referring_ids or far not in referenced_ids:
            missing = (
                wire["referringItemId"] if near not in referring_ids else wire["referencedItemId"]
            )
            results[i] = _error(ItemNotFound(str(missing)))
        elif (near, far) in existing:
            results[i] = _error(ReferenceAlreadyExists(**wire))
        else:
            existing.add((near, far))
            rows.append(
                {
                    multi.near.key: near,
                    multi.far.key: far,
                    **({multi.created.key: stamp} if multi.created is not None else {}),
                }
            )
            results[i] = {"reference": wire}
    if rows:
        conn.execute(multi.join.insert(), rows)
    return results


def remove_references(conn, collection: Collection, multi, references: list) -> list:
    """Remove references; one result per reference: it, or REFERENCE_NOT_FOUND."""
    results: list[dict | None] = [None] * len(references)
    pairs: dict[int, tuple] = {}
    for i, reference in enumerate(references):
        try:
            pairs[i] = _pair(multi, reference)
        except ValidationError as exc:
            results[i] = _error(exc)
    existing = _existing_pairs(conn, multi, list(pairs.values()))
    removed = []
    for i, pair in pairs.items():
        wire = _reference_wire(references[i])
        if pair not in existing:  # absent, or already removed earlier in this request
            results[i] = _error(ReferenceNotFound(**wire))
            continue
        existing.discard(pair)
        removed.append(pair)
        results[i] = {"reference": wire}
    if removed:  # one statement for them all
        conn.execute(multi.join.delete().where(sa.tuple_(multi.near, multi.far).in_(removed)))
    return results
