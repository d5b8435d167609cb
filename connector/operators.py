"""The table of filter operators: for each, the Wix capability it belongs to,
the field kinds that accept it, and the function that builds its SQL.

The same table answers both "how does this filter compile" and "which
operators does this field support" (its capabilities), so the two never differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from .backends import like_pattern
from .fieldtypes import ARRAY, DATE, DATETIME, MULTI_REFERENCE, NUMBER, OBJECT, TEXT, TIME, Invalid
from .fieldtypes import SCALAR_KINDS as SCALAR

ORDERED = frozenset({TEXT, NUMBER, DATETIME, DATE, TIME})
JSON = frozenset({OBJECT, ARRAY})
ANY_KIND = SCALAR | JSON


class Target(Protocol):
    """What operator builders compare: a collection field (``catalog.Field``), a
    column of an aggregation (``aggregates.Derived``) or a scalar inside a JSON
    field (``filters.PathTarget``)."""

    key: str
    type: str  # the Wix type, for messages
    expression: sa.ColumnElement  # the value as SQL
    exact: sa.ColumnElement  # the value as compared and ordered (code point, case)
    column: sa.Column | None  # the underlying column, when there is one

    @property
    def kind(self) -> str: ...  # the storage family: TEXT, NUMBER, ..., OBJECT

    def filter_value(self, value): ...  # a filter operand, bound as this target binds


@dataclass(frozen=True)
class Operator:
    """A filter operator.

    :param name: as written in filters, e.g. ``$gt``.
    :param capability: the Wix query-operator capability it belongs to (``GT``), or None.
    :param kinds: the field kinds (``fieldtypes.base_type``) that accept it.
    :param build: ``build(ctx, target, value) -> SQL expression``.
    """

    name: str
    capability: str | None
    kinds: frozenset
    build: Callable


# --- builders ---------------------------------------------------------------
# ``target`` is a Target; ``ctx`` gives the backend and converts values with
# ``ctx.value(target, v)``.


def _eq(ctx, target, value):
    if value is None:
        return target.expression.is_(None)
    if target.kind in JSON:
        if not isinstance(value, (dict, list)):
            raise Invalid("Expected an object or array to match by containment.")
        return ctx.backend.json_contains(target.expression, value)
    bound = ctx.value(target, value)
    if target.kind == TEXT and not _is_uuid(target):
        return ctx.backend.text_equals(target.expression, bound, target.column)
    return target.expression == bound


def _ne(ctx, target, value):
    if value is None:
        return target.expression.is_not(None)
    # IS NOT TRUE: a containment test is NULL where a key is missing; that is "not equal".
    return sa.or_(_eq(ctx, target, value).is_not(sa.true()), target.expression.is_(None))


def _ordering(op):
    def build(ctx, target, value):
        if value is None:
            return sa.false()  # nothing is greater or less than null
        return op(target.exact, ctx.value(target, value))

    return build


MAX_VALUES = 1000


def _list(value) -> list:
    if not isinstance(value, list):
        raise Invalid("Expected an array of values.")
    if len(value) > MAX_VALUES:
        raise Invalid(f"At most {MAX_VALUES} values are allowed in one list.")
    return value


def _in(ctx, target, value):
    values = _list(value)
    present = [v for v in values if v is not None]
    bound = [ctx.value(target, v) for v in present]
    if not bound:
        clause = sa.false()
    elif target.kind == TEXT and not _is_uuid(target):
        clause = ctx.backend.text_in(target.expression, bound, target.column)
    else:
        clause = target.expression.in_(bound)
    if len(present) < len(values):
        clause = sa.or_(clause, target.expression.is_(None))
    return clause


def _nin(ctx, target, value):
    values = _list(value)
    clause = sa.not_(_in(ctx, target, [v for v in values if v is not None]))
    if None in values:
        return sa.and_(clause, target.expression.is_not(None))
    return sa.or_(clause, target.expression.is_(None))


def _has_some(ctx, target, value):
    values = _list(value)
    if target.kind == MULTI_REFERENCE:
        return target.has(ctx.id_column, values, every=False)
    if target.kind in JSON:
        return sa.or_(
            sa.false(), *(ctx.backend.json_array_has(target.expression, v) for v in values)
        )
    return _in(ctx, target, values)


def _has_all(ctx, target, value):
    values = _list(value)
    if not values:
        return sa.false()
    if target.kind == MULTI_REFERENCE:
        return target.has(ctx.id_column, values, every=True)
    if target.kind in JSON:
        return sa.and_(*(ctx.backend.json_array_has(target.expression, v) for v in values))
    return sa.and_(*(_eq(ctx, target, v) for v in values))


def _text(value) -> str:
    if not isinstance(value, str):
        raise Invalid("Expected a string.")
    return value


def _is_uuid(target) -> bool:
    # A UUID column is TEXT on the wire but compares as itself, with no collation.
    return target.column is not None and isinstance(target.column.type, sa.Uuid)


def _as_text(target):
    """The target as text for pattern matching (a UUID column is cast)."""
    return sa.cast(target.expression, sa.String) if _is_uuid(target) else target.expression


def _like(prefix, suffix):
    def build(ctx, target, value):
        pattern = like_pattern(_text(value), prefix=prefix, suffix=suffix)
        return ctx.backend.ilike(_as_text(target), pattern, target.column)

    return build


def _boolean(value) -> bool:
    if not isinstance(value, bool):
        raise Invalid("Expected true or false.")
    return value


def _exists(ctx, target, value):
    return target.expression.is_not(None) if _boolean(value) else target.expression.is_(None)


def _is_empty(ctx, target, value):
    empty = target.expression.is_(None)
    if target.kind == TEXT:
        empty = sa.or_(empty, _as_text(target) == "")
    elif target.kind in JSON:
        empty = sa.or_(empty, ctx.backend.json_is_empty_array(target.expression))
    return empty if _boolean(value) else sa.not_(empty)


def _regex_char(char: str) -> str:
    return char if char.isalnum() else "\\" + char


#: The most text a ``$matches`` spec may hold: databases compile a regular
#: expression in time that grows faster than its length (PostgreSQL's, ignoring
#: case, takes seconds at 20,000 characters).
MAX_MATCHES_TEXT = 4096


def matches_pattern(value) -> tuple[str, bool]:
    """The regular expression of a ``$matches`` value (to match the whole text),
    and whether case is ignored."""
    if not isinstance(value, dict) or not isinstance(value.get("spec"), list):
        raise Invalid('Expected {"ignoreCase": bool, "spec": [{"type", "value"}]}.')
    parts = []
    length = 0
    for part in value["spec"]:
        kind = part.get("type") if isinstance(part, dict) else None
        text = part.get("value") if isinstance(part, dict) else None
        if kind not in ("literal", "anyOf") or not isinstance(text, str):
            raise Invalid('Each spec part must be {"type": "literal"|"anyOf", "value": string}.')
        length += len(text)
        if length > MAX_MATCHES_TEXT:
            raise Invalid(f"A $matches spec may hold at most {MAX_MATCHES_TEXT} characters.")
        escaped = "".join(_regex_char(c) for c in text)
        parts.append(escaped if kind == "literal" else f"[{escaped}]" if text else "(?!)")
    return "".join(parts), bool(value.get("ignoreCase"))


def _matches(ctx, target, value):
    pattern, ignore_case = matches_pattern(value)
    return ctx.backend.full_match(_as_text(target), pattern, ignore_case, target.column)


def urlized_pattern(value) -> str:
    """``$urlized``: the words of a URL slug, separated by "-" or " ", ignoring case."""
    if isinstance(value, str):
        words = [w for w in re.split(r"[-\s]+", value) if w]
    elif isinstance(value, list) and all(isinstance(w, str) for w in value):
        words = value
    else:
        raise Invalid("Expected a URL slug string or an array of words.")
    if not words:
        raise Invalid("Expected at least one word.")
    return "[- ]".join("".join(_regex_char(c) for c in w.lower()) for w in words)


def _urlized(ctx, target, value):
    return ctx.backend.full_match(_as_text(target), urlized_pattern(value), True, target.column)


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("$eq", "EQ", ANY_KIND, _eq),
        Operator("$ne", "NE", ANY_KIND, _ne),
        Operator("$gt", "GT", ORDERED, _ordering(lambda a, b: a > b)),
        Operator("$gte", "GTE", ORDERED, _ordering(lambda a, b: a >= b)),
        Operator("$lt", "LT", ORDERED, _ordering(lambda a, b: a < b)),
        Operator("$lte", "LTE", ORDERED, _ordering(lambda a, b: a <= b)),
        Operator("$in", "EQ", SCALAR, _in),
        Operator("$nin", "NE", SCALAR, _nin),
        Operator("$hasSome", "HAS_SOME", ANY_KIND | {MULTI_REFERENCE}, _has_some),
        Operator("$hasAll", "HAS_ALL", ANY_KIND | {MULTI_REFERENCE}, _has_all),
        Operator("$contains", "CONTAINS", frozenset({TEXT}), _like(True, True)),
        Operator("$startsWith", "STARTS_WITH", frozenset({TEXT}), _like(False, True)),
        Operator("$endsWith", "ENDS_WITH", frozenset({TEXT}), _like(True, False)),
        Operator("$exists", "EXISTS", ANY_KIND, _exists),
        Operator("$isEmpty", "EXISTS", ANY_KIND, _is_empty),
        Operator("$matches", None, frozenset({TEXT}), _matches),
        Operator("$urlized", "URLIZED", frozenset({TEXT}), _urlized),
    )
}

#: The order Wix lists query-operator capabilities in.
CAPABILITY_ORDER = (
    "EQ",
    "LT",
    "GT",
    "NE",
    "LTE",
    "GTE",
    "STARTS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "HAS_SOME",
    "HAS_ALL",
    "EXISTS",
    "URLIZED",
)


def capabilities(kind: str) -> list[str]:
    """The Wix query-operator capabilities of a field of storage ``kind``."""
    found = {op.capability for op in OPERATORS.values() if kind in op.kinds and op.capability}
    return [c for c in CAPABILITY_ORDER if c in found]


def sortable(kind: str) -> bool:
    return kind in SCALAR
