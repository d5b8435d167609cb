"""The connector's own bookkeeping tables (created by the Alembic migrations in
``migrations/``): what SQL cannot hold about collections, and settings that every
worker process must share.
"""

from __future__ import annotations

import secrets

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

settings = sa.Table(
    "_connector_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def is_internal(table_name: str) -> bool:
    return table_name.startswith(PREFIX) or table_name == "alembic_version"


def declared_types(conn: Connection, collection_id: str) -> dict[str, str]:
    """The Wix types declared for a collection's fields (field key -> type)."""
    rows = conn.execute(
        sa.select(fields.c.field_key, fields.c.wix_type).where(
            fields.c.collection_id == collection_id
        )
    )
    return dict(rows.all())


def declare_field(conn: Connection, *, collection_id: str, field_key: str, wix_type: str) -> None:
    """Record the Wix type of a field whose SQL type alone does not say it.

    :param collection_id: the collection (table) id.
    :param field_key: the field (column) key.
    :param wix_type: the Wix field type, e.g. ``ARRAY`` for a JSON column or ``URL``
        for a text column.
    """
    key = {"collection_id": collection_id, "field_key": field_key}
    updated = conn.execute(fields.update().filter_by(**key).values(wix_type=wix_type))
    if updated.rowcount == 0:
        conn.execute(fields.insert().values(**key, wix_type=wix_type))


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
