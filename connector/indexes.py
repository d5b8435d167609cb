"""indexes/list, create and remove: a collection's indexes as Wix sees them.

The primary key is listed first as ``_id_``; indexes made by other tools are
listed too, with their columns named by field key.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from . import dberrors
from .catalog import ID, Collection
from .ddl import operations
from .errors import ValidationError, violation
from .sqltypes import name_problem

PRIMARY = "_id_"


def _index(name, fields, *, unique, case_insensitive, status="ACTIVE") -> dict:
    return {
        "name": name,
        "fields": fields,
        "unique": unique,
        "caseInsensitive": case_insensitive,
        "status": status,
    }


def list_indexes(engine, collection: Collection) -> list[dict]:
    """The primary key, then every index of the table in name order."""
    primary = _index(PRIMARY, [{"path": ID, "order": "ASC"}], unique=True, case_insensitive=False)
    if collection.read_only:
        return [primary]
    keys = {f.column.name: f.key for f in collection.fields.values()}
    found = []
    with engine.connect() as conn:
        for index in sa.inspect(conn).get_indexes(collection.id):
            described = _describe(conn, collection.id, index, keys)
            if described is not None:
                found.append(described)
    return [primary, *sorted(found, key=lambda i: i["name"])]


_LOWER = re.compile(r'lower\(\(?"?([^"()]+)"?\)?(?:::text)?\)')


def _describe(conn, table_name: str, index: dict, keys: dict) -> dict | None:
    """An index as Wix sees it; None for expressions the contract cannot describe
    (only lower(column), a case-insensitive index, is one it can)."""
    names = index.get("column_names") or []
    expressions = index.get("expressions") or []
    fields, case_insensitive = [], False
    descending = _descending(conn, table_name, index)
    for position, name in enumerate(names):
        if name is None:  # an expression: PostgreSQL reflects its text
            match = _LOWER.fullmatch(expressions[position]) if position < len(expressions) else None
            if match is None:
                return None
            name, case_insensitive = match.group(1), True
        if name not in keys:
            return None
        fields.append({"path": keys[name], "order": "DESC" if name in descending else "ASC"})
    if not fields:
        return None
    return _index(
        index["name"], fields, unique=bool(index.get("unique")), case_insensitive=case_insensitive
    )


_STATISTICS = sa.table(
    "STATISTICS",
    sa.column("TABLE_SCHEMA"),
    sa.column("TABLE_NAME"),
    sa.column("INDEX_NAME"),
    sa.column("COLUMN_NAME"),
    sa.column("COLLATION"),
    schema="information_schema",
)


def _descending(conn, table_name: str, index: dict) -> set[str]:
    """The columns an index sorts descending (SQLAlchemy reflects this on
    PostgreSQL only; SQLite's pragma and MySQL's statistics tell the others)."""
    dialect = conn.dialect
    if "column_sorting" in index or dialect.name == "postgresql":
        return {n for n, order in (index.get("column_sorting") or {}).items() if "desc" in order}
    if dialect.name == "sqlite":
        quoted = dialect.identifier_preparer.quote(index["name"])
        rows = conn.exec_driver_sql(f"PRAGMA index_xinfo({quoted})").mappings()
        return {row["name"] for row in rows if row["key"] and row["desc"]}
    stats = _STATISTICS.c
    rows = conn.execute(
        sa.select(stats.COLUMN_NAME).where(
            stats.TABLE_SCHEMA == sa.func.database(),
            stats.TABLE_NAME == table_name,
            stats.INDEX_NAME == index["name"],
            stats.COLLATION == "D",
        )
    )
    return set(rows.scalars())


def _descending_column(engine, name: str):
    # SQLAlchemy's MySQL index compiler reads .name from every column when prefix
    # lengths are given, which a .desc() expression lacks; the quoted identifier
    # with DESC is the same SQL.
    return sa.literal_column(f"{engine.dialect.identifier_preparer.quote(name)} DESC")


def create_index(engine, collection: Collection, spec: dict, *, most: int) -> dict:
    """Create an index; the answer says ACTIVE, or FAILED with the reason."""
    name = spec["name"]
    requested = _index(
        name,
        [{"path": p["path"], "order": p.get("order") or "ASC"} for p in spec["fields"]],
        unique=bool(spec.get("unique")),
        case_insensitive=bool(spec.get("caseInsensitive")),
    )

    def failed(code: str, description: str) -> dict:
        return {
            **requested,
            "status": "FAILED",
            "failure": {"code": code, "description": description},
        }

    existing = list_indexes(engine, collection)
    if name == PRIMARY or any(i["name"] == name for i in existing):
        return failed("INDEX_ALREADY_EXISTS", f"An index named {name!r} already exists.")
    problem = name_problem(engine.dialect, name)
    if problem:
        return failed("INVALID_NAME", problem)
    if len(existing) - 1 >= most:
        return failed("TOO_MANY_INDEXES", f"A collection has at most {most} indexes here.")
    mysql = engine.dialect.name in ("mysql", "mariadb")
    columns, lengths = [], {}
    for p in requested["fields"]:
        field = collection.fields.get(p["path"])
        if field is None:
            return failed("UNKNOWN_FIELD", f"The collection has no field {p['path']!r}.")
        if not field.sortable:
            return failed("FIELD_NOT_INDEXABLE", f"{field.type} fields cannot be indexed.")
        column = sa.column(field.column.name)
        if requested["caseInsensitive"] and field.kind == "TEXT":
            if engine.dialect.name != "postgresql":  # others can't list them back
                return failed("NOT_SUPPORTED", "This database has no case-insensitive indexes.")
            column = sa.func.lower(column)
        # MySQL indexes a TEXT column by a prefix (a UNIQUE one by a hash, MariaDB 10.4+).
        if mysql and isinstance(field.column.type, sa.Text) and not requested["unique"]:
            lengths[field.column.name] = 255
        if p["order"] == "DESC":
            column = _descending_column(engine, field.column.name) if mysql else column.desc()
        if engine.dialect.name == "postgresql" and field.column.nullable:
            # Built in the order queries sort by (nulls first ascending, so last
            # descending): PostgreSQL's default NULLS LAST index could not serve them.
            column = column.nulls_last() if p["order"] == "DESC" else column.nulls_first()
        columns.append(column)
    try:
        with engine.begin() as conn:
            operations(conn).create_index(
                name,
                collection.id,
                columns,
                unique=requested["unique"],
                **({"mysql_length": lengths} if lengths else {}),
            )
    except sa.exc.SQLAlchemyError as exc:
        if isinstance(exc, sa.exc.DBAPIError) and dberrors.unavailable(exc):
            raise
        return failed(
            "INDEX_CREATION_FAILED",
            "The database refused the index (for a unique index: the data has duplicates).",
        )
    return {**requested, "status": "ACTIVE"}


def remove_index(engine, collection: Collection, name: str) -> None:
    """Drop the index ``name``; the primary key cannot be removed."""
    if name == PRIMARY:
        raise ValidationError([violation("indexName", name, "The primary key cannot be removed.")])
    if not any(i["name"] == name for i in list_indexes(engine, collection)):
        raise ValidationError([violation("indexName", name, "The collection has no such index.")])
    with engine.begin() as conn:
        operations(conn).drop_index(name, table_name=collection.id)
