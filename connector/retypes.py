"""Whether a column can change type with its data, and what its default is.

Checked before any statement runs (connector/ddl.py), so a refused change
leaves table and data as they were on every backend.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import sqlalchemy as sa

from . import fieldtypes
from .catalog import Collection
from .fieldtypes import NUMBER, TEXT
from .sqltypes import SYSTEM_TYPES

_NUMBER_TEXT = re.compile(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")


def _is_number_text(value) -> bool:
    """Text every database converts to the same finite double."""
    return (
        isinstance(value, str)
        and _NUMBER_TEXT.fullmatch(value) is not None
        and math.isfinite(float(value))
    )


@dataclass(frozen=True)
class Retype:
    key: str
    column: sa.Column
    wix_type: str
    default: str | None  # the column's default value, as text, kept across the change


_COLUMNS = sa.table(
    "COLUMNS",
    sa.column("TABLE_SCHEMA"),
    sa.column("TABLE_NAME"),
    sa.column("COLUMN_NAME"),
    sa.column("COLUMN_DEFAULT"),
    schema="information_schema",
)


def _default_text(conn, column: sa.Column) -> str | None:
    """The SQL of a column's default (None: none). SQLAlchemy does not reflect
    MariaDB's expression defaults, so MySQL's are read from information_schema."""
    if conn.dialect.name in ("mysql", "mariadb"):
        c = _COLUMNS.c
        text = conn.execute(
            sa.select(c.COLUMN_DEFAULT).where(
                c.TABLE_SCHEMA == sa.func.database(),
                c.TABLE_NAME == column.table.name,
                c.COLUMN_NAME == column.name,
            )
        ).scalar()
        return None if text in (None, "NULL") else text
    default = column.server_default
    return None if default is None else str(getattr(default, "arg", default)).strip()


def check_retype(conn, current: Collection, key: str, new_type: str):
    """(Why ``key`` cannot become ``new_type`` or None, its default's literal)."""
    field = current.fields[key]
    old_kind, new_kind = field.kind, fieldtypes.base_type(new_type)
    if key in SYSTEM_TYPES:
        return "System fields cannot be retyped.", None
    default_text = _default_text(conn, field.column)
    default = default_literal(default_text)
    if default_text is not None and default is None:
        return "Its default is an expression that would not survive the new type.", None
    if (old_kind, new_kind) == (NUMBER, TEXT):
        return None, default
    if (old_kind, new_kind) == (TEXT, NUMBER):
        if default is not None and not _is_number_text(default):
            return f"Its default {default!r} cannot become a NUMBER.", None
        if not isinstance(field.column.type, sa.String) or isinstance(field.column.type, sa.Enum):
            return f"A {field.column.type} column cannot become a NUMBER.", None
        values = conn.execute(sa.select(field.column).where(field.column.is_not(None)))
        for (value,) in values:
            if not _is_number_text(value):
                return f"{value!r} cannot become a NUMBER; no value was changed.", None
        return None, default
    return f"A {field.type} field cannot become {new_type}.", None


_QUOTED_DEFAULT = re.compile(r"\(*'((?:[^']|'')*)'(?:::[\w ]+)?\)*")
_NUMBER_DEFAULT = re.compile(r"\(*([+-]?[\d.eE+-]+)(?:::[\w ]+)?\)*")


def default_literal(text: str | None) -> str | None:
    """The literal value of a default's SQL, as text (None: no default, or an
    expression such as now() that is not a plain value)."""
    if text is None:
        return None
    quoted = _QUOTED_DEFAULT.fullmatch(text)
    if quoted:
        return quoted.group(1).replace("''", "'")
    number = _NUMBER_DEFAULT.fullmatch(text)
    return number.group(1) if number else None


def using(dialect, column: sa.Column, new_type: str) -> str:
    # PostgreSQL needs USING to convert; the identifier is quoted by SQLAlchemy.
    quoted = dialect.identifier_preparer.quote(column.name)
    target = "double precision" if fieldtypes.base_type(new_type) == NUMBER else "text"
    return f"{quoted}::{target}"
