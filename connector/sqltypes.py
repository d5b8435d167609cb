"""The SQL side of Wix field types: the column type each Wix type is created
with on each backend, which types a database can hold, and the names it accepts."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from . import fieldtypes
from .fieldtypes import BOOLEAN, DATE, DATETIME, NUMBER, TEXT, TIME

#: What collections/create accepts, in the order capabilities/get lists it.
SUPPORTED_TYPES = [
    "TEXT",
    "NUMBER",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "TIME",
    "URL",
    "RICH_TEXT",
    "IMAGE",
    "VIDEO",
    "AUDIO",
    "DOCUMENT",
    "LANGUAGE",
    "PAGE_LINK",
    "OBJECT",
    "ANY",
    "ADDRESS",
    "RICH_CONTENT",
    "MEDIA_GALLERY",
    "ARRAY",
    "ARRAY_STRING",
    "ARRAY_DOCUMENT",
    "REFERENCE",
    "MULTI_REFERENCE",  # a join table, not a column
]
#: The system fields and their Wix types (system fields are never dropped or retyped).
SYSTEM_TYPES = {"_id": TEXT, "_createdDate": DATETIME, "_updatedDate": DATETIME, "_owner": TEXT}
#: _id and _owner: indexable on every backend, and on MySQL/MariaDB compared by
#: code point (binary), so "Doc" and "doc" are two items, as in Wix and CouchDB.
KEY_TEXT = sa.String(255).with_variant(
    mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)
MAX_NAME = 64  # MySQL's identifier limit (PostgreSQL's is 63 bytes)


def column_type(wix_type: str) -> sa.types.TypeEngine:
    """The SQL type a field of ``wix_type`` is created with (per backend via variants)."""
    kind = fieldtypes.base_type(wix_type)
    if kind in (
        fieldtypes.REFERENCE,
        fieldtypes.MULTI_REFERENCE,
    ):  # an id (the referenced key's own type when known)
        return KEY_TEXT
    if kind == TEXT:
        return sa.Text()
    if kind == NUMBER:
        return sa.Double()  # double precision everywhere: no FLOAT(15,2)-style loss
    if kind == BOOLEAN:
        return sa.Boolean(create_constraint=False)
    if kind == DATE:
        return sa.Date()
    if kind == DATETIME:
        return sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")
    if kind == TIME:
        return sa.Time().with_variant(mysql.TIME(fsp=3), "mysql", "mariadb")
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


@functools.lru_cache(maxsize=16)
def supported_types(dialect) -> list[str]:
    """The Wix types this database can hold: those whose column type it compiles."""
    supported = []
    for wix_type in SUPPORTED_TYPES:
        try:
            column_type(wix_type).compile(dialect=dialect)
        except sa.exc.CompileError:
            continue
        supported.append(wix_type)
    return supported


def folds_case(dialect) -> bool:
    """Whether column names that differ only in case are the same column."""
    return dialect.name in ("sqlite", "mysql", "mariadb")


def name_problem(dialect, name: str) -> str | None:
    """Why ``name`` cannot name a table, column or index here (None: it can)."""
    mysql_family = dialect.name in ("mysql", "mariadb")
    # MySQL's dialect reports its alias limit (255); tables and columns stop at 64.
    limit = MAX_NAME if mysql_family else dialect.max_identifier_length
    if len(name.encode()) > limit:
        return f"Names are at most {limit} bytes on this database."
    if "\x00" in name or (mysql_family and "`" in name):
        return "This character cannot be used in a name on this database."
    if any(c in name for c in "\r\n") or name != name.strip():
        # Reflection (MySQL's SHOW CREATE TABLE parser) and aliases lose them.
        return "Names cannot hold line breaks or begin or end with spaces."
    if dialect.name == "sqlite" and name.lower().startswith("sqlite_"):
        return "Names starting with sqlite_ are reserved on this database."
    return None
