"""indexes/list, create and remove: a collection's indexes as Wix sees them.

The primary key is listed first as ``_id_``; indexes made by other tools are
listed too, with their columns named by field key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from . import dberrors
from .catalog import ID, Collection
from .errors import ValidationError, violation

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
    keys = {f.column.name: f.key for f in collection.fields.values()}
    found = []
    for index in sa.inspect(engine).get_indexes(collection.id):
        names = index.get("column_names") or []
        if not names or any(n is None or n not in keys for n in names):
            continue  # an expression index the contract cannot describe
        descending = _descending(engine, collection.id, index)
        fields = [{"path": keys[n], "order": "DESC" if n in descending else "ASC"} for n in names]
        found.append(
            _index(index["name"], fields, unique=bool(index.get("unique")), case_insensitive=False)
        )
    found.sort(key=lambda i: i["name"])
    primary = _index(PRIMARY, [{"path": ID, "order": "ASC"}], unique=True, case_insensitive=False)
    return [primary] if collection.read_only else [primary, *found]


_STATISTICS = sa.table(
    "STATISTICS",
    sa.column("TABLE_SCHEMA"),
    sa.column("TABLE_NAME"),
    sa.column("INDEX_NAME"),
    sa.column("COLUMN_NAME"),
    sa.column("COLLATION"),
    schema="information_schema",
)


def _descending(engine, table_name: str, index: dict) -> set[str]:
    """The columns an index sorts descending (SQLAlchemy reflects this on
    PostgreSQL only; SQLite's pragma and MySQL's statistics tell the others)."""
    if "column_sorting" in index or engine.dialect.name == "postgresql":
        return {n for n, order in (index.get("column_sorting") or {}).items() if "desc" in order}
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            quoted = engine.dialect.identifier_preparer.quote(index["name"])
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


def create_index(engine, collection: Collection, spec: dict) -> dict:
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

    if name == PRIMARY or any(i["name"] == name for i in list_indexes(engine, collection)):
        return failed("INDEX_ALREADY_EXISTS", f"An index named {name!r} already exists.")
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
            if mysql:
                return failed("NOT_SUPPORTED", "This database has no case-insensitive indexes.")
            column = sa.func.lower(column)
        # MySQL indexes a TEXT column by a prefix (a UNIQUE one by a hash, MariaDB 10.4+).
        if mysql and isinstance(field.column.type, sa.Text) and not requested["unique"]:
            lengths[field.column.name] = 255
        if p["order"] == "DESC":
            column = _descending_column(engine, field.column.name) if mysql else column.desc()
        columns.append(column)
    try:
        with engine.begin() as conn:
            Operations(MigrationContext.configure(conn)).create_index(
                name,
                collection.id,
                columns,
                unique=requested["unique"],
                **({"mysql_length": lengths} if lengths else {}),
            )
    except sa.exc.DBAPIError as exc:
        if dberrors.unavailable(exc):
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
        Operations(MigrationContext.configure(conn)).drop_index(name, table_name=collection.id)
