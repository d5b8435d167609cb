"""collections/create, update and delete: schema changes through Alembic
operations (a MigrationContext and Operations at run time, batch mode on SQLite).

Every requested change is checked before any statement runs, and the
statements run in one transaction where the backend has transactional DDL
(PostgreSQL, SQLite), so a refused change leaves table, data and metadata as
they were. MariaDB commits each DDL statement; there the checks are what
guarantee it.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import mysql, postgresql

from . import dberrors, fieldtypes, metadata
from .catalog import ID, Catalog, Collection
from .errors import (
    CollectionAlreadyExists,
    CollectionChangeNotSupported,
    ValidationError,
    change_error,
    violation,
)
from .fieldtypes import BOOLEAN, DATE, DATETIME, NUMBER, TEXT, TIME

log = logging.getLogger(__name__)

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
]
SYSTEM_TYPES = {"_id": TEXT, "_createdDate": DATETIME, "_updatedDate": DATETIME, "_owner": TEXT}
KEY_TEXT = sa.String(255)  # _id and _owner: indexable on every backend
MAX_NAME = 64  # MySQL's identifier limit (PostgreSQL's is 63 bytes)


def column_type(wix_type: str) -> sa.types.TypeEngine:
    """The SQL type a field of ``wix_type`` is created with (per backend via variants)."""
    kind = fieldtypes.base_type(wix_type)
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


@dataclass(frozen=True)
class FieldSpec:
    key: str
    type: str
    display_name: str | None
    description: str | None


def _folds_case(dialect) -> bool:
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
    if dialect.name == "sqlite" and name.lower().startswith("sqlite_"):
        return "Names starting with sqlite_ are reserved on this database."
    return None


def _field_specs(collection: dict, dialect) -> list[FieldSpec]:
    supported = supported_types(dialect)
    specs, violations, seen = [], [], set()
    for i, f in enumerate(collection.get("fields") or []):
        key, wix_type = f["key"], f["type"]
        folded = key.casefold() if _folds_case(dialect) else key
        problem = "Duplicate key." if folded in seen else name_problem(dialect, key)
        if problem:
            violations.append(violation(f"collection.fields[{i}].key", key, problem))
        if wix_type not in supported:
            violations.append(
                violation(
                    f"collection.fields[{i}].type",
                    wix_type,
                    f"{wix_type} fields are not supported here.",
                )
            )
        seen.add(folded)
        specs.append(FieldSpec(key, wix_type, f.get("displayName"), f.get("description")))
    if violations:
        raise ValidationError(violations)
    return specs


def operations(conn) -> Operations:
    """Alembic operations on a connection, run now (no migration scripts)."""
    return Operations(MigrationContext.configure(conn))


def _new_column(spec: FieldSpec, column_key: str) -> sa.Column:
    if spec.key == ID:
        return sa.Column(column_key, KEY_TEXT, primary_key=True)
    if spec.key == "_owner":
        return sa.Column(column_key, KEY_TEXT)
    return sa.Column(column_key, column_type(spec.type))


def _info(collection: dict, specs: list[FieldSpec], previous=None) -> metadata.CollectionInfo:
    permissions = collection.get("permissions") or (
        previous.permissions if previous else metadata.DEFAULT_PERMISSIONS
    )
    fields = dict(previous.fields) if previous else {}
    fields.update({s.key: metadata.FieldInfo(s.type, s.display_name, s.description) for s in specs})
    return metadata.CollectionInfo(
        collection.get("displayName"), {**metadata.DEFAULT_PERMISSIONS, **permissions}, fields
    )


def _with_system_fields(specs: list[FieldSpec]) -> list[FieldSpec]:
    given = {s.key: s for s in specs}
    for key, wix_type in SYSTEM_TYPES.items():
        spec = given.get(key)
        if spec is not None and spec.type != wix_type:
            raise ValidationError([violation(key, spec.type, f"{key} is a {wix_type} field.")])
    first = given.get(ID) or FieldSpec(ID, TEXT, None, None)
    rest = [s for s in specs if s.key != ID]
    missing = [
        FieldSpec(k, t, None, None) for k, t in SYSTEM_TYPES.items() if k != ID and k not in given
    ]
    return [first, *rest, *missing]


def create(engine, catalog: Catalog, collection: dict) -> Collection:
    """Create the table of ``collection`` (system fields added) and its metadata."""
    collection_id = collection["id"]
    problem = name_problem(engine.dialect, collection_id)
    if metadata.is_internal(collection_id) or problem:
        message = problem or "This id is reserved for the connector's own tables."
        raise ValidationError([violation("collection.id", collection_id, message)])
    if catalog.tables is not None and collection_id not in catalog.tables:
        raise CollectionChangeNotSupported(
            [], f"{collection_id!r} is not among the tables this connector serves."
        )
    specs = _with_system_fields(_field_specs(collection, engine.dialect))
    if _table_exists(engine, collection_id):
        raise CollectionAlreadyExists(collection_id)
    columns = [_new_column(s, s.key) for s in specs]
    with engine.begin() as conn:
        operations(conn).create_table(collection_id, *columns)
        metadata.save_collection_info(conn, collection_id, _info(collection, specs))
    catalog.forget(collection_id)
    return catalog.refresh(collection_id)


def _table_exists(engine, name: str) -> bool:
    inspector = sa.inspect(engine)
    names = [*inspector.get_table_names(), *inspector.get_view_names()]
    if engine.dialect.name == "sqlite":  # SQLite's table names ignore case
        return name.casefold() in {n.casefold() for n in names}
    return name in names


# --- update -------------------------------------------------------------------

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


def _check_retype(conn, current: Collection, key: str, new_type: str):
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


def _using(dialect, column: sa.Column, new_type: str) -> str:
    # PostgreSQL needs USING to convert; the identifier is quoted by SQLAlchemy.
    quoted = dialect.identifier_preparer.quote(column.name)
    target = "double precision" if fieldtypes.base_type(new_type) == NUMBER else "text"
    return f"{quoted}::{target}"


@dataclass
class Plan:
    """The statements an update needs, all checked before any of them runs."""

    adds: list[FieldSpec]
    retypes: list[Retype]
    drops: list
    info: metadata.CollectionInfo


def update(engine, catalog: Catalog, collection: dict) -> Collection:
    """Make the table match ``collection``: add, retype and drop fields, then store
    names, descriptions, types and permissions. All or nothing."""
    collection_id = collection["id"]
    current = catalog.refresh(collection_id)
    if current.is_view:
        raise CollectionChangeNotSupported([], "A view's structure cannot be changed.")
    with engine.connect() as conn:
        plan = _plan(conn, current, collection)
    try:
        with engine.begin() as conn:
            _apply(conn, collection_id, plan)
    except sa.exc.DBAPIError as exc:
        if dberrors.unavailable(exc):
            raise
        log.warning("the database refused a collection change: %s", exc.orig)
        raise CollectionChangeNotSupported(
            [],
            "The database refused the change."
            + (
                ""
                if _transactional_ddl(engine.dialect)
                else " Changes before the refused statement may have been applied."
            ),
        ) from None
    finally:
        catalog.forget(collection_id)
    return catalog.refresh(collection_id)


def _transactional_ddl(dialect) -> bool:
    return dialect.name in ("postgresql", "sqlite")


def _plan(conn, current: Collection, collection: dict) -> Plan:
    dialect = conn.dialect
    specs = _field_specs(collection, dialect)
    requested = {s.key: s for s in specs}
    adds = [s for s in specs if s.key not in current.fields]
    drops = [f for k, f in current.fields.items() if k not in requested and k not in SYSTEM_TYPES]
    violations = []
    if _folds_case(dialect):  # "Name" cannot be added beside an existing "name"
        taken = {c.name.casefold() for c in current.table.columns}
        violations = [
            violation(s.key, s.key, "A column of that name, in other case, exists.")
            for s in adds
            if s.key.casefold() in taken
        ]
    if violations:
        raise ValidationError(violations)
    retypes, errors = [], []
    for spec in specs:
        field = current.fields.get(spec.key)
        reported = TEXT if spec.key == ID else (field.type if field else None)
        if field is None or spec.type == reported:
            continue
        if fieldtypes.base_type(spec.type) == field.kind and spec.key not in SYSTEM_TYPES:
            continue  # same storage (TEXT -> URL): only the reported type changes
        reason, default = _check_retype(conn, current, spec.key, spec.type)
        if reason is None and dialect.name == "sqlite":
            reason = _sqlite_rebuild_problem(conn, current.id)
        if reason:
            errors.append(change_error(spec.key, reason))
        else:
            retypes.append(Retype(spec.key, field.column, spec.type, default))
    if errors:
        raise CollectionChangeNotSupported(errors)
    info = _info(collection, specs, current.info)
    for dropped in drops:
        info.fields.pop(dropped.key, None)
    return Plan(adds, retypes, drops, info)


_SQLITE_MASTER = sa.table(
    "sqlite_master", sa.column("type"), sa.column("name"), sa.column("tbl_name"), sa.column("sql")
)


def _sqlite_rebuild_problem(conn, table_name: str) -> str | None:
    """SQLite changes a column's type by rebuilding the table, which would lose
    its triggers, break views over it and cascade deletes to rows referring to it."""
    m = _SQLITE_MASTER.c
    if conn.execute(sa.select(m.name).where(m.type == "trigger", m.tbl_name == table_name)).first():
        return "SQLite would rebuild the table and lose its triggers."
    views = conn.execute(sa.select(m.sql).where(m.type == "view")).scalars()
    if any(table_name.casefold() in (sql or "").casefold() for sql in views):
        return "SQLite would rebuild the table under a view that reads it."
    inspector = sa.inspect(conn)
    for other in inspector.get_table_names():
        if any(fk["referred_table"] == table_name for fk in inspector.get_foreign_keys(other)):
            return "SQLite would rebuild the table that other tables refer to."
    return None


def _apply(conn, table_name: str, plan: Plan) -> None:
    """Run a checked plan: adds, then retypes, drops last (on MariaDB, where each
    statement commits, a refusal then loses no data)."""
    ops = operations(conn)
    for spec in plan.adds:
        ops.add_column(table_name, _new_column(spec, spec.key))
    if plan.retypes and conn.dialect.name == "sqlite":
        with ops.batch_alter_table(table_name, recreate="always") as batch:
            _retype(batch, conn.dialect, plan.retypes, ())
    else:
        _retype(ops, conn.dialect, plan.retypes, (table_name,))
    for field in plan.drops:
        ops.drop_column(table_name, field.column.name)
    metadata.save_collection_info(conn, table_name, plan.info)


def _retype(ops, dialect, retypes: list[Retype], target: tuple) -> None:
    for retype in retypes:
        column = retype.column
        # PostgreSQL cannot cast a default with the column: drop it, retype, set it again.
        redefault = dialect.name == "postgresql" and retype.default is not None
        if redefault:
            ops.alter_column(*target, column.name, server_default=None)
        ops.alter_column(
            *target,
            column.name,
            type_=column_type(retype.wix_type),
            existing_type=column.type,
            existing_nullable=column.nullable,
            # MariaDB's MODIFY restates the column: its default must be given again.
            existing_server_default=None if redefault else retype.default,
            postgresql_using=_using(dialect, column, retype.wix_type),
        )
        if redefault:
            ops.alter_column(*target, column.name, server_default=retype.default)


def delete(engine, catalog: Catalog, collection_id: str) -> None:
    """Drop the collection's table and everything stored about it."""
    current = catalog.refresh(collection_id)
    if current.is_view:
        raise CollectionChangeNotSupported([], "A view cannot be deleted as a collection.")
    with engine.begin() as conn:
        operations(conn).drop_table(collection_id)
        metadata.forget_collection(conn, collection_id)
    catalog.forget(collection_id)
