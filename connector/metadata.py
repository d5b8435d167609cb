"""The connector's own bookkeeping tables (created by the Alembic migrations in
``migrations/``): what SQL cannot hold about collections, and settings that every
worker process must share.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from dataclasses import field as dc_field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: Tables whose names start with this are the connector's and never collections.
PREFIX = "_connector"
VERSION_TABLE = "_connector_alembic_version"

metadata = sa.MetaData()

fields = sa.Table(
    "_connector_fields",
    metadata,
    sa.Column("collection_id", sa.String(255), primary_key=True),
    sa.Column("field_key", sa.String(255), primary_key=True),
    sa.Column("wix_type", sa.String(32), nullable=False),
    sa.Column("display_name", sa.String(255)),
    sa.Column("description", sa.Text),
)

collections = sa.Table(
    "_connector_collections",
    metadata,
    sa.Column("collection_id", sa.String(255), primary_key=True),
    sa.Column("display_name", sa.String(255)),
    sa.Column("permissions", sa.Text),  # JSON: {"insert", "update", "remove", "read"}
)

references = sa.Table(
    "_connector_references",
    metadata,
    sa.Column("collection_id", sa.String(255), primary_key=True),
    sa.Column("field_key", sa.String(255), primary_key=True),
    sa.Column("referenced_collection", sa.String(255), nullable=False),
    sa.Column("join_table", sa.String(255), nullable=False),
    sa.Column("near_column", sa.String(64), nullable=False),  # this collection's side
    sa.Column("far_column", sa.String(64), nullable=False),  # the referenced side
    sa.Column("reverse_field_key", sa.String(255)),
)

settings = sa.Table(
    "_connector_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def is_internal(table_name: str) -> bool:
    return table_name.startswith(PREFIX) or table_name == "alembic_version"


DEFAULT_PERMISSIONS = {"insert": "ADMIN", "update": "ADMIN", "remove": "ADMIN", "read": "ANYONE"}


@dataclass(frozen=True)
class FieldInfo:
    """What the connector knows of a field beyond its SQL type."""

    wix_type: str
    display_name: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class CollectionInfo:
    """What the connector knows of a collection beyond its table."""

    display_name: str | None = None
    permissions: dict = dc_field(default_factory=lambda: dict(DEFAULT_PERMISSIONS))
    fields: dict[str, FieldInfo] = dc_field(default_factory=dict)


def collection_info(conn: Connection, collection_id: str) -> CollectionInfo:
    """The stored metadata of a collection (defaults where nothing is stored)."""
    rows = conn.execute(
        sa.select(
            fields.c.field_key, fields.c.wix_type, fields.c.display_name, fields.c.description
        ).where(fields.c.collection_id == collection_id)
    )
    field_infos = {key: FieldInfo(t, d, desc) for key, t, d, desc in rows}
    row = conn.execute(
        sa.select(collections.c.display_name, collections.c.permissions).where(
            collections.c.collection_id == collection_id
        )
    ).first()
    if row is None:
        return CollectionInfo(fields=field_infos)
    permissions = {**DEFAULT_PERMISSIONS, **json.loads(row.permissions or "{}")}
    return CollectionInfo(row.display_name, permissions, field_infos)


def save_collection_info(conn: Connection, collection_id: str, info: CollectionInfo) -> None:
    """Replace the stored metadata of a collection with ``info``."""
    forget_collection(conn, collection_id)
    conn.execute(
        collections.insert().values(
            collection_id=collection_id,
            display_name=info.display_name,
            permissions=json.dumps(info.permissions),
        )
    )
    if info.fields:
        conn.execute(
            fields.insert(),
            [
                {
                    "collection_id": collection_id,
                    "field_key": key,
                    "wix_type": f.wix_type,
                    "display_name": f.display_name,
                    "description": f.description,
                }
                for key, f in info.fields.items()
            ],
        )


@dataclass(frozen=True)
class JoinInfo:
    """Where a MULTI_REFERENCE field's references live."""

    field_key: str
    referenced_collection: str
    join_table: str
    near_column: str
    far_column: str
    reverse_field_key: str | None = None


def join_infos(conn: Connection, collection_id: str) -> list[JoinInfo]:
    """The MULTI_REFERENCE fields recorded for a collection."""
    r = references.c
    rows = conn.execute(
        sa.select(
            r.field_key,
            r.referenced_collection,
            r.join_table,
            r.near_column,
            r.far_column,
            r.reverse_field_key,
        )
        .where(r.collection_id == collection_id)
        .order_by(r.field_key)
    )
    return [JoinInfo(*row) for row in rows]


def joins_touching(conn: Connection, collection_id: str) -> list[str]:
    """The join tables with this collection on either side."""
    r = references.c
    rows = conn.execute(
        sa.select(r.join_table).where(
            sa.or_(r.collection_id == collection_id, r.referenced_collection == collection_id)
        )
    )
    return sorted(set(rows.scalars()))


def record_join(conn: Connection, collection_id: str, info: JoinInfo) -> None:
    conn.execute(
        references.insert().values(
            collection_id=collection_id,
            field_key=info.field_key,
            referenced_collection=info.referenced_collection,
            join_table=info.join_table,
            near_column=info.near_column,
            far_column=info.far_column,
            reverse_field_key=info.reverse_field_key,
        )
    )


def forget_join(conn: Connection, join_table: str) -> None:
    """Remove both directions' records of a join table (and their fields' names)."""
    r = references.c
    sides = conn.execute(sa.select(r.collection_id, r.field_key).where(r.join_table == join_table))
    for collection_id, field_key in sides.all():
        conn.execute(
            fields.delete().where(
                fields.c.collection_id == collection_id, fields.c.field_key == field_key
            )
        )
    conn.execute(references.delete().where(r.join_table == join_table))


def set_field_info(conn: Connection, collection_id: str, field_key: str, info: FieldInfo) -> None:
    """Record one field's metadata, replacing what was there."""
    key = {"collection_id": collection_id, "field_key": field_key}
    conn.execute(fields.delete().filter_by(**key))
    conn.execute(
        fields.insert().values(
            **key,
            wix_type=info.wix_type,
            display_name=info.display_name,
            description=info.description,
        )
    )


def forget_collection(conn: Connection, collection_id: str) -> None:
    """Remove everything stored about a collection."""
    conn.execute(fields.delete().where(fields.c.collection_id == collection_id))
    conn.execute(collections.delete().where(collections.c.collection_id == collection_id))


def declare_field(conn: Connection, *, collection_id: str, field_key: str, wix_type: str) -> None:
    """Record the Wix type of a field whose SQL type alone does not say it.

    :param collection_id: the collection (table) id.
    :param field_key: the field (column) key.
    :param wix_type: the Wix field type, e.g. ``ARRAY`` for a JSON column or ``URL``
        for a text column.
    """
    set_field_info(conn, collection_id, field_key, FieldInfo(wix_type))


def shared_secret(conn: Connection, name: str) -> str:
    """A random secret kept in the database, so every worker and restart agrees on it."""
    query = sa.select(settings.c.value).where(settings.c.name == name)
    value = conn.execute(query).scalar()
    if value is None:
        try:
            with conn.begin_nested():
                conn.execute(settings.insert().values(name=name, value=secrets.token_urlsafe(32)))
        except sa.exc.IntegrityError:
            pass  # another worker made it first
        value = conn.execute(query).scalar_one()
    return value


#: The settings row whose value changes with every schema change any process makes.
SCHEMA_VERSION = "schema_version"


_VERSION_QUERY = sa.select(settings.c.value).where(settings.c.name == SCHEMA_VERSION)
_version_sql: dict[str, str] = {}


def schema_version(conn: Connection) -> str | None:
    """The current schema version (None before the first change).

    Every request asks, so the statement is compiled once per dialect (its one
    value a constant of ours) and sent as is, without Core's per-call work.
    """
    return conn.exec_driver_sql(schema_version_sql(conn.dialect)).scalar()


def schema_version_sql(dialect: sa.Dialect) -> str:
    """The SQL text of the schema version read, for ``dialect`` (compiled once)."""
    sql = _version_sql.get(dialect.name)
    if sql is None:
        compiled = _VERSION_QUERY.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        sql = _version_sql[dialect.name] = str(compiled)
    return sql


def bump_schema_version(conn: Connection) -> str:
    """Give the schema a new version, so other processes drop their cached
    collections (see ``Catalog.check_version``); returns it."""
    value = secrets.token_hex(8)
    done = conn.execute(
        settings.update().where(settings.c.name == SCHEMA_VERSION).values(value=value)
    )
    if not done.rowcount:
        try:
            with conn.begin_nested():
                conn.execute(settings.insert().values(name=SCHEMA_VERSION, value=value))
        except sa.exc.IntegrityError:  # another process made the row first
            conn.execute(
                settings.update().where(settings.c.name == SCHEMA_VERSION).values(value=value)
            )
    return value
