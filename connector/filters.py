"""Compile Wix (Mongo-style) filters into SQL expressions.

Every key of a filter object is ANDed, and so is every operator on one field;
``{"f": v}`` means ``$eq``. Leaf conditions come from the operator table
(``operators.OPERATORS``); this module walks the filter, resolves fields and
dotted paths into JSON objects, and reports bad input as VALIDATION_ERROR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from .errors import ValidationError, violation
from .fieldtypes import BOOLEAN, NUMBER, OBJECT, TEXT, Invalid
from .operators import OPERATORS

MAX_DEPTH = 32
MAX_CONDITIONS = 1000


class UnknownField(ValidationError):
    """A filter, sort or projection names a field the collection does not have."""

    def __init__(self, key: str, path: str | None = None):
        super().__init__([violation(path or key, key, f"Unknown field {key!r}.")])
        self.key = key


@dataclass(frozen=True)
class PathTarget:
    """A scalar inside a JSON field, reached by a dotted path, seen as one kind."""

    key: str
    kind: str
    expression: sa.ColumnElement
    exact: sa.ColumnElement
    column: sa.Column | None = None

    @property
    def type(self) -> str:
        return self.kind

    def filter_value(self, value):
        if _kind_of(value) != self.kind:
            raise Invalid("All values compared with one path must be of one JSON type.")
        return value


def _kind_of(value) -> str | None:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    return None


_PATH_KINDS = {TEXT: "string", NUMBER: "number", BOOLEAN: "boolean"}


class Context:
    """What operator builders need: the backend, value conversion, and the
    collection's key column (that MULTI_REFERENCE filters correlate with)."""

    def __init__(self, backend, id_column=None):
        self.backend = backend
        self.id_column = id_column

    def value(self, target, value):
        return target.filter_value(value)


def is_date_literal(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "$date" in value


class FilterCompiler:
    """Compiles filters against a set of fields.

    :param resolve: ``resolve(key) -> field`` for a plain field key; raises
        :class:`UnknownField` (or returns None) for keys it does not know.
    :param backend: the ``backends.Backend`` of the database.
    :param scope: a condition every compiled filter is held within (the rows a
        caller may read), or None.
    """

    def __init__(self, resolve: Callable, backend, id_column=None, *, scope=None):
        self.resolve = resolve
        self.ctx = Context(backend, id_column)
        self.conditions = 0
        self.scope = scope

    def compile(self, filter_, path: str = "query.filter") -> sa.ColumnElement:
        """The WHERE expression of ``filter_`` (``true`` for an empty filter),
        always within the compiler's ``scope`` when it has one."""
        where = self._compile(filter_, path)
        return where if self.scope is None else sa.and_(self.scope, where)

    def _compile(self, filter_, path: str) -> sa.ColumnElement:
        if filter_ is None:
            return sa.true()
        if not isinstance(filter_, dict):
            raise ValidationError([violation(path, filter_, "A filter must be an object.")])
        return self._node(filter_, path, 0)

    def _node(self, node: dict, path: str, depth: int):
        if depth > MAX_DEPTH:
            raise ValidationError([violation(path, None, "The filter is nested too deeply.")])
        clauses = []
        for key, value in node.items():
            if key in ("$and", "$or"):
                parts = self._subfilters(key, value, path, depth)
                clauses.append(
                    sa.and_(sa.true(), *parts) if key == "$and" else sa.or_(sa.false(), *parts)
                )
            elif key == "$not":
                inner = value[0] if isinstance(value, list) and len(value) == 1 else value
                if not isinstance(inner, dict):
                    raise ValidationError(
                        [
                            violation(
                                key, value, "$not takes a filter object or a one-element array."
                            )
                        ]
                    )
                # IS NOT TRUE keeps rows where the inner condition is NULL (missing values).
                clauses.append(self._node(inner, path, depth + 1).is_not(sa.true()))
            elif key.startswith("$"):
                raise ValidationError([violation(key, value, f"Unknown operator {key!r}.")])
            else:
                clauses.append(self._field(key, value))
        return sa.and_(sa.true(), *clauses) if len(clauses) != 1 else clauses[0]

    def _subfilters(self, key, value, path, depth):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ValidationError([violation(key, value, f"{key} takes an array of filters.")])
        return [self._node(v, path, depth + 1) for v in value]

    def _field(self, key: str, condition):
        target = self._target(key)
        if (
            isinstance(condition, dict)
            and condition
            and not is_date_literal(condition)
            and all(k.startswith("$") for k in condition)
        ):
            operations = condition.items()
        else:
            operations = [("$eq", condition)]
        clauses = [self._operation(key, target, name, value) for name, value in operations]
        return clauses[0] if len(clauses) == 1 else sa.and_(*clauses)

    def _target(self, key: str):
        field = self.resolve(key)
        if field is not None:
            return field
        head, _, rest = key.partition(".")
        if rest:
            field = self.resolve(head)
            if field is not None and field.kind == OBJECT:
                return (field, tuple(rest.split(".")))
        raise UnknownField(key)

    def _operation(self, key, target, name, value):
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise ValidationError(
                [violation(key, None, f"A filter may hold at most {MAX_CONDITIONS} conditions.")]
            )
        operator = OPERATORS.get(name)
        if operator is None:
            raise ValidationError([violation(key, value, f"Unknown operator {name!r}.")])
        try:
            if isinstance(target, tuple):
                return self._path_operation(key, target, operator, value)
            if target.kind not in operator.kinds:
                raise Invalid(f"{name} is not supported for {target.type} fields.")
            return operator.build(self.ctx, target, value)
        except Invalid as exc:
            raise ValidationError([violation(key, value, str(exc))]) from None

    # dotted paths into JSON objects ----------------------------------------
    def _path_operation(self, key, target, operator, value):
        field, path = target
        backend = self.ctx.backend
        name = operator.name
        if name in ("$exists", "$isEmpty") or (name in ("$eq", "$ne") and value is None):
            present = sa.func.nullif(
                sa.func.lower(backend.json_path(field.expression, path, "type")), "null"
            )
            presence = PathTarget(key, "PRESENCE", present, present)
            if name == "$isEmpty":
                name = "$exists"
                value = not value if isinstance(value, bool) else value
            return OPERATORS[name].build(self.ctx, presence, value)
        if name in ("$hasSome", "$hasAll"):
            values = value if isinstance(value, list) else None
            if values is None:
                raise Invalid("Expected an array of values.")
            wrap = _nest(path, values) if name == "$hasAll" else None
            if wrap is not None:
                return backend.json_contains(field.expression, wrap) if values else sa.false()
            return sa.or_(
                sa.false(),
                *(backend.json_contains(field.expression, _nest(path, [v])) for v in values),
            )
        if name in ("$in", "$nin"):
            if not isinstance(value, list):
                raise Invalid("Expected an array of values.")
            eq = OPERATORS["$eq"]
            clause = sa.or_(sa.false(), *(self._path_operation(key, target, eq, v) for v in value))
            if name == "$in":
                return clause
            return clause.is_not(sa.true())
        kind = _kind_of(value)
        if value is None and name in ("$gt", "$gte", "$lt", "$lte"):
            return sa.false()  # nothing is greater or less than null
        if kind is None or name not in _PATH_OPERATORS:
            raise Invalid(f"{name} on a path inside an object takes a string, number or boolean.")
        if name in ("$contains", "$startsWith", "$endsWith") and kind != TEXT:
            raise Invalid(f"{name} takes a string.")
        expression = backend.json_path(field.expression, path, _PATH_KINDS[kind])
        exact = backend.exact_text(expression) if kind == TEXT else expression
        return operator.build(self.ctx, PathTarget(key, kind, expression, exact), value)


_PATH_OPERATORS = {
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$contains",
    "$startsWith",
    "$endsWith",
}


def _nest(path: tuple, value):
    for part in reversed(path):
        value = {part: value}
    return value
