"""Wix field types: which SQL column types map to which, and how values cross
the wire in both directions.

Values are encoded by the column's type, never by sniffing them: a TEXT field
holding an ISO string stays a string.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

TEXT = "TEXT"
NUMBER = "NUMBER"
BOOLEAN = "BOOLEAN"
DATETIME = "DATETIME"
DATE = "DATE"
TIME = "TIME"
OBJECT = "OBJECT"
ARRAY = "ARRAY"
REFERENCE = "REFERENCE"  # a column holding another collection's item id
MULTI_REFERENCE = "MULTI_REFERENCE"  # ids of another collection, kept in a join table

#: Wix types stored in a text column: the value is text, Wix shows it differently.
TEXT_LIKE = frozenset(
    {TEXT, "URL", "RICH_TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT", "LANGUAGE", "PAGE_LINK"}
)
#: Wix types stored in a JSON column.
JSON_LIKE = frozenset(
    {
        OBJECT,
        ARRAY,
        "ANY",
        "ADDRESS",
        "RICH_CONTENT",
        "MEDIA_GALLERY",
        "ARRAY_STRING",
        "ARRAY_DOCUMENT",
    }
)
#: Storage kinds with a single comparable value (sortable, indexable).
SCALAR_KINDS = frozenset({TEXT, NUMBER, BOOLEAN, DATETIME, DATE, TIME})
ARRAY_LIKE = frozenset({ARRAY, "ARRAY_STRING", "ARRAY_DOCUMENT", "MEDIA_GALLERY"})


def sql_wix_type(column_type: sa.types.TypeEngine) -> str | None:
    """The Wix type a SQL column type implies, or None for types the connector can't carry."""
    if isinstance(column_type, sa.Boolean):
        return BOOLEAN
    if isinstance(column_type, mysql.TINYINT) and column_type.display_width == 1:
        return BOOLEAN  # MySQL's BOOLEAN is TINYINT(1)
    if isinstance(column_type, (sa.Integer, sa.Numeric, sa.Float)):
        return NUMBER
    if isinstance(column_type, sa.DateTime):
        return DATETIME
    if isinstance(column_type, sa.Date):
        return DATE
    if isinstance(column_type, sa.Time):
        return TIME
    if isinstance(column_type, sa.JSON):
        return OBJECT
    if isinstance(column_type, (sa.String, sa.Enum, postgresql.UUID, sa.Uuid)):
        return TEXT
    return None


def base_type(wix_type: str) -> str:
    """The storage family of a Wix type: TEXT, NUMBER, ..., OBJECT or ARRAY."""
    if wix_type in TEXT_LIKE:
        return TEXT
    if wix_type in ARRAY_LIKE:
        return ARRAY
    if wix_type in JSON_LIKE:
        return OBJECT
    return wix_type


# --- wire -> database -------------------------------------------------------


class Invalid(ValueError):
    """A value does not fit its field; the message says why."""


def parse_datetime(value: Any) -> dt.datetime:
    """``{"$date": iso}`` or an ISO string, as a naive UTC datetime."""
    if isinstance(value, dict) and set(value) == {"$date"}:
        value = value["$date"]
    if not isinstance(value, str):
        raise Invalid('Expected a date as {"$date": "ISO-8601"} or an ISO-8601 string.')
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{value!r} is not an ISO-8601 date and time.") from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:
            raise Invalid(f"{value!r} is out of the range of dates.") from None
    return parsed


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dict) or (isinstance(value, str) and "T" in value):
        return parse_datetime(value).date()
    if not isinstance(value, str):
        raise Invalid('Expected a date as "YYYY-MM-DD".')
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{value!r} is not a date (YYYY-MM-DD).") from None


def parse_time(value: Any) -> dt.time:
    if isinstance(value, dict):
        return parse_datetime(value).time()
    if not isinstance(value, str):
        raise Invalid('Expected a time as "HH:MM:SS.sss".')
    try:
        parsed = dt.time.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{value!r} is not a time (HH:MM:SS.sss).") from None
    if parsed.tzinfo is not None:  # a time with an offset is converted to UTC
        moment = dt.datetime.combine(dt.date(2000, 1, 1), parsed)
        parsed = moment.astimezone(dt.UTC).time()
    return parsed.replace(tzinfo=None)


def check_number(value: Any):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid("Expected a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid("Expected a finite number.")
    return value


INT64 = 2**63


def to_number(value: Any, column_type: sa.types.TypeEngine):
    check_number(value)
    if isinstance(column_type, sa.Integer):
        if isinstance(value, float):
            if not value.is_integer():
                raise Invalid("Expected a whole number: the column holds integers.")
            value = int(value)
        if not -INT64 <= value < INT64:
            raise Invalid("The number is too large for an integer column.")
        return value
    if isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float):
        return decimal.Decimal(repr(value)) if isinstance(value, float) else decimal.Decimal(value)
    return float(value) if isinstance(column_type, sa.Float) else value


def to_text(value: Any, column_type: sa.types.TypeEngine):
    if not isinstance(value, str):
        raise Invalid("Expected a string.")
    if isinstance(column_type, sa.Uuid):
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            raise Invalid(f"{value!r} is not a UUID: the column holds UUIDs.") from None
        return parsed if column_type.as_uuid else str(parsed)
    length = getattr(column_type, "length", None)
    if length and len(value) > length:
        raise Invalid(f"The text is longer than the column allows ({length} characters).")
    return value


def to_database(wix_type: str, column_type: sa.types.TypeEngine, value: Any) -> Any:
    """Convert a wire value for a field of ``wix_type`` to what the column binds.

    Raises :class:`Invalid` when the value does not fit; None is always accepted.
    """
    if value is None:
        return None
    kind = base_type(wix_type)
    if kind == TEXT:
        return to_text(value, column_type)
    if kind == NUMBER:
        return to_number(value, column_type)
    if kind == BOOLEAN:
        if not isinstance(value, bool):
            raise Invalid("Expected true or false.")
        return value
    if kind == DATETIME:
        return parse_datetime(value)
    if kind == DATE:
        return parse_date(value)
    if kind == TIME:
        return parse_time(value)
    if kind == ARRAY and not isinstance(value, list):
        raise Invalid("Expected an array.")
    if kind == OBJECT and wix_type == OBJECT and not isinstance(value, (dict, list)):
        raise Invalid("Expected an object.")
    return value


def filter_operand(wix_type: str, value: Any) -> Any:
    """A value compared with a field of ``wix_type`` in a filter (of any column)."""
    kind = base_type(wix_type)
    if kind == TEXT:
        if not isinstance(value, str):
            raise Invalid("Expected a string.")
        return value
    if kind == NUMBER:
        check_number(value)
        # Beyond 64 bits drivers can't bind an int; as a float it still compares right.
        return float(value) if isinstance(value, int) and not -INT64 <= value < INT64 else value
    return to_database(wix_type, sa.types.NullType(), value)


# --- database -> wire -------------------------------------------------------


def format_datetime(value: dt.datetime) -> dict:
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(dt.UTC)
    # isoformat pads the year to four digits and truncates to milliseconds, as Wix
    # writes them: always 23 characters, then the offset of an aware UTC value.
    return {"$date": value.isoformat(timespec="milliseconds")[:23] + "Z"}


def format_time(value: dt.time | dt.timedelta) -> str:
    if isinstance(value, dt.timedelta):  # drivers that return TIME as a duration
        value = (dt.datetime.min + value).time()
    return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def to_wire(wix_type: str, value: Any, column_type: sa.types.TypeEngine | None = None) -> Any:
    """Convert a value read from a column of ``wix_type`` to its JSON form."""
    if value is None:
        return None
    kind = base_type(wix_type)
    if kind == NUMBER and isinstance(column_type, sa.Float):
        return float(value)  # drivers hand doubles back as Decimal or int
    if kind == DATETIME:
        return format_datetime(value) if isinstance(value, dt.datetime) else value
    if kind == NUMBER:
        if isinstance(value, decimal.Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        return value
    if kind == BOOLEAN:
        return bool(value)
    if kind == DATE:
        return value.isoformat() if isinstance(value, dt.date) else value
    if kind == TIME:
        return format_time(value) if isinstance(value, (dt.time, dt.timedelta)) else value
    if kind == TEXT and not isinstance(value, str):
        return str(value)
    return value


def wire_reader(wix_type: str, column_type: sa.types.TypeEngine | None = None):
    """A function doing what :func:`to_wire` does for one field, with the choice of
    conversion made once: results convert every value of every row through it."""
    kind = base_type(wix_type)
    if kind == NUMBER and isinstance(column_type, sa.Float):
        return _float_or_none
    if kind == DATETIME:
        return _datetime_to_wire
    if kind == TEXT:
        return _text_to_wire
    if kind == BOOLEAN:
        return _bool_or_none
    return lambda value: to_wire(wix_type, value, column_type)


def _float_or_none(value):
    return None if value is None else float(value)


def _bool_or_none(value):
    return None if value is None else bool(value)


def _datetime_to_wire(value):
    return format_datetime(value) if isinstance(value, dt.datetime) else value


def _text_to_wire(value):
    return value if value is None or value.__class__ is str else str(value)


# --- item ids ---------------------------------------------------------------


def id_to_wire(value) -> str | None:
    """Item ids are always strings on the wire, whatever the key column's type."""
    return None if value is None else str(value)


_INTEGER_ID = re.compile(r"\s*-?[0-9]{1,19}\s*")


def id_to_database(column: sa.Column, value):
    """An item id as the key column binds it; :class:`Invalid` if it can't be one."""
    if isinstance(column.type, sa.Integer):
        if isinstance(value, str) and _INTEGER_ID.fullmatch(value):
            value = int(value)
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if is_int and -INT64 <= value < INT64:
            return value
        raise Invalid("Expected an item id: this collection's ids are integers.")
    return to_database(TEXT, column.type, value)
