"""items/aggregate and items/query-distinct-values.

An aggregation is a grouped subquery; ``finalFilter`` and ``sort`` then apply
to its rows through the same filter compiler as everything else, with the
grouping fields and result names as the fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa

from . import fieldtypes
from .catalog import Collection
from .errors import ValidationError, violation
from .fieldtypes import ARRAY, NUMBER, OBJECT
from .filters import FilterCompiler, UnknownField
from .operators import ORDERED, SCALAR
from .queries import compiler_for, order_clauses, page_bounds, sort_keys


@dataclass(frozen=True)
class Derived:
    """A column of an aggregation's result, seen as a field by the filter compiler.

    :param filter_value: converts a filter value for this column.
    :param to_wire: converts a result value for the response.
    """

    key: str
    type: str
    expression: sa.ColumnElement
    exact: sa.ColumnElement
    filter_value: Callable
    to_wire: Callable
    column: sa.Column | None = None

    @property
    def kind(self) -> str:
        return fieldtypes.base_type(self.type)


_FUNCTIONS = {"sum": sa.func.sum, "average": sa.func.avg, "min": sa.func.min, "max": sa.func.max}


@dataclass(frozen=True)
class Operation:
    """One aggregation operation: its result name, its SQL, and how to read it."""

    name: str
    expression: sa.ColumnElement
    source: object | None  # the field min/max keep the type of
    filter_value: Callable
    to_wire: Callable


def _operation(collection: Collection, op: dict, index: int) -> Operation:
    path = f"aggregation.operations[{index}]"
    name = op.get("resultFieldName")
    if not isinstance(name, str) or not name:
        raise ValidationError(
            [violation(f"{path}.resultFieldName", name, "Each operation needs a resultFieldName.")]
        )
    kinds = [k for k in ("itemCount", "count", *_FUNCTIONS) if k in op]
    if len(kinds) != 1:
        message = "Each operation needs exactly one of itemCount, sum, average, min, max."
        raise ValidationError([violation(path, op, message)])
    kind = kinds[0]
    if kind in ("itemCount", "count"):
        return Operation(name, sa.func.count(), None, fieldtypes.check_number, int)
    spec = op[kind]
    field_name = spec.get("itemFieldName") if isinstance(spec, dict) else None
    field = collection.fields.get(field_name) if isinstance(field_name, str) else None
    if field is None:
        raise UnknownField(str(field_name), f"{path}.{kind}.itemFieldName")
    allowed = ORDERED if kind in ("min", "max") else {NUMBER}
    if field.kind not in allowed:
        message = f"{kind} is not supported for {field.type} fields."
        raise ValidationError([violation(f"{path}.{kind}.itemFieldName", field_name, message)])
    if kind in ("min", "max"):
        return Operation(
            name, _FUNCTIONS[kind](field.exact), field, field.filter_value, field.to_wire
        )
    to_wire = _float if kind == "average" else partial(fieldtypes.to_wire, NUMBER)
    return Operation(
        name, _FUNCTIONS[kind](field.expression), None, fieldtypes.check_number, to_wire
    )


def _float(value):
    return None if value is None else float(value)


def aggregate(conn, collection: Collection, request: dict) -> dict:
    """The response of items/aggregate for a validated ``request``."""
    aggregation = request.get("aggregation") or {}
    grouping = aggregation.get("groupingFields") or []
    group_fields = []
    for i, key in enumerate(grouping):
        field = collection.fields.get(key)
        if field is None:
            raise UnknownField(key, f"aggregation.groupingFields[{i}]")
        if field.kind not in SCALAR:
            raise ValidationError(
                [
                    violation(
                        f"aggregation.groupingFields[{i}]",
                        key,
                        f"{field.type} fields cannot be grouped.",
                    )
                ]
            )
        group_fields.append(field)
    operations = [
        _operation(collection, op, i) for i, op in enumerate(aggregation.get("operations") or [])
    ]
    if not group_fields and not operations:
        raise ValidationError(
            [
                violation(
                    "aggregation",
                    aggregation,
                    "An aggregation needs grouping fields or operations.",
                )
            ]
        )
    names = [f.key for f in group_fields] + [op.name for op in operations]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        name = sorted(duplicates)[0]
        raise ValidationError(
            [violation("aggregation.operations", name, f"The result name {name!r} is used twice.")]
        )

    where = compiler_for(collection).compile(request.get("initialFilter"), "initialFilter")
    # Generated column labels: a result name is only a key of the answer, and some
    # names (a NUL, leading spaces on MariaDB) cannot be SQL aliases.
    labels = [f"r{i}" for i in range(len(names))]
    grouped = sa.select(
        *(f.exact.label(label) for f, label in zip(group_fields, labels, strict=False)),
        *(
            op.expression.label(label)
            for op, label in zip(operations, labels[len(group_fields) :], strict=True)
        ),
    ).where(where)
    if group_fields:
        grouped = grouped.group_by(*(f.exact for f in group_fields))
    groups = grouped.subquery("groups")
    columns = dict(zip(names, groups.c, strict=True))

    backend = collection.backend
    derived = {}
    for f in group_fields:
        derived[f.key] = _derived(backend, columns[f.key], f, f.type, f.filter_value, f.to_wire)
    for op in operations:
        wix_type = op.source.type if op.source is not None else NUMBER
        derived[op.name] = _derived(
            backend, columns[op.name], op.source, wix_type, op.filter_value, op.to_wire
        )
    having = FilterCompiler(derived.get, backend).compile(request.get("finalFilter"), "finalFilter")
    sort = request.get("sort") or [{"fieldName": f.key, "order": "ASC"} for f in group_fields]
    keys = sort_keys(derived.get, sort, path="sort")
    limit, offset = page_bounds(request.get("paging"))
    stmt = (
        sa.select(*groups.c)
        .where(having)
        .order_by(*order_clauses(keys, backend))
        .limit(limit)
        .offset(offset)
    )
    items = [
        {name: derived[name].to_wire(value) for name, value in zip(names, row, strict=True)}
        for row in conn.execute(stmt)
    ]
    metadata = {"count": len(items), "offset": offset}
    if request.get("returnTotalCount"):
        total = sa.select(sa.func.count()).select_from(groups).where(having)
        metadata["total"] = conn.execute(total).scalar_one()
    return {"items": items, "pagingMetadata": metadata}


def _derived(backend, column, source, wix_type, filter_value, to_wire) -> Derived:
    text = source is not None and source.kind == "TEXT"
    exact = backend.exact_text(column, source.column) if text else column
    return Derived(
        column.key,
        wix_type,
        column,
        exact,
        filter_value,
        to_wire,
        source.column if source is not None else None,
    )


def distinct_values(conn, collection: Collection, request: dict) -> dict:
    """The response of items/query-distinct-values for a validated ``request``."""
    key = request["fieldName"]
    field = collection.fields.get(key)
    if field is None:
        raise UnknownField(key, "fieldName")
    where = compiler_for(collection).compile(request.get("filter"), "filter")
    descending = request.get("order") == "DESC"
    limit, offset = page_bounds(request.get("paging"))
    if field.kind in (OBJECT, ARRAY):
        values = _json_distinct(conn, collection, field, where, descending)
        total = len(values)
        values = values[offset : offset + limit]
    else:
        present = sa.and_(where, field.expression.is_not(None))
        distinct = sa.select(field.exact.label("value")).where(present).distinct().subquery()
        order = distinct.c.value.desc() if descending else distinct.c.value.asc()
        stmt = sa.select(distinct.c.value).order_by(order).limit(limit).offset(offset)
        values = [field.to_wire(v) for v in conn.execute(stmt).scalars()]
        total = None
        if request.get("returnTotalCount"):
            total = conn.execute(sa.select(sa.func.count()).select_from(distinct)).scalar_one()
    metadata = {"count": len(values), "offset": offset}
    if request.get("returnTotalCount"):
        metadata["total"] = total
    return {"distinctValues": values, "pagingMetadata": metadata}


def _json_distinct(conn, collection, field, where, descending) -> list:
    """Distinct values of a JSON field, arrays unwound into their elements.

    Done in Python: SQL has no portable way to unwind and order JSON values.
    """
    stmt = sa.select(field.expression).where(where, field.expression.is_not(None))
    seen = {}
    for value in conn.execute(stmt).scalars():
        elements = value if (field.kind == ARRAY and isinstance(value, list)) else [value]
        for element in elements:
            if element is not None:
                seen.setdefault(json.dumps(element, sort_keys=True), element)
    return sorted(seen.values(), key=_json_order, reverse=descending)


def _json_order(value):
    # Numbers, then strings, then booleans, then objects and arrays (by their JSON).
    if isinstance(value, bool):
        return (2, value, "")
    if isinstance(value, (int, float)):
        return (0, value, "")
    if isinstance(value, str):
        return (1, 0, value)
    return (3, 0, json.dumps(value, sort_keys=True))
