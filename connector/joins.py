"""Join tables of MULTI_REFERENCE fields: named deterministically, created and
dropped with their field, and recorded (both directions) in the metadata.

A join table holds (referring_id, referenced_id, created): unique on the pair,
each side a foreign key with cascading delete, so removing an item, truncating
or deleting a collection leaves no reference behind.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from . import metadata
from .sqltypes import MAX_NAME

NEAR, FAR, CREATED = "referring_id", "referenced_id", "created"
REFERENCE_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")


def _digest(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


def join_name(dialect, collection_id: str, field_key: str) -> str:
    """``_connector_mr_<collection>_<field>_<digest>``: readable, and unique even
    when names share underscores ("a_b"+"c", "a"+"b_c"); only the digest when long."""
    digest = _digest(collection_id, field_key)
    name = f"_connector_mr_{collection_id}_{field_key}_{digest}"
    limit = MAX_NAME if dialect.name in ("mysql", "mariadb") else dialect.max_identifier_length
    if len(name.encode()) <= limit and name.replace("_", "").isalnum():
        return name
    return f"_connector_mr_{_digest(collection_id, field_key, length=24)}"


def constraint_name(table_name: str, column_name: str) -> str:
    """A foreign key's name: short (MySQL's own would outgrow 64 characters) and
    unique in the database (MySQL requires it)."""
    return f"fk_{_digest(table_name, column_name, length=24)}"


def key_column(table_name: str, column_name: str, column_type) -> sa.Column:
    """The referenced key as a column object: a "table.column" string would be
    misread when a name holds a dot."""
    table = sa.Table(
        table_name, sa.MetaData(), sa.Column(column_name, column_type, primary_key=True)
    )
    return table.c[column_name]


def create_join(
    ops, conn, *, collection_id: str, key: str, near: tuple, far: tuple, reverse: tuple | None
) -> None:
    """Create a field's join table and record it.

    :param near: (column name, type) of the referring collection's key.
    :param far: (table, column name, type) of the referenced collection's key.
    :param reverse: (field key, display name) the referenced collection sees the
        references as, or None.
    """
    name = join_name(conn.dialect, collection_id, key)
    far_table, far_column, far_type = far
    ops.create_table(
        name,
        sa.Column(
            NEAR,
            near[1],
            sa.ForeignKey(
                key_column(collection_id, *near),
                ondelete="CASCADE",
                name=constraint_name(name, NEAR),
            ),
            primary_key=True,
        ),
        sa.Column(
            FAR,
            far_type,
            sa.ForeignKey(
                key_column(far_table, far_column, far_type),
                ondelete="CASCADE",
                name=constraint_name(name, FAR),
            ),
            primary_key=True,
        ),
        sa.Column(CREATED, REFERENCE_TIME, nullable=False),
    )
    reverse_key = reverse[0] if reverse else None
    metadata.record_join(
        conn, collection_id, metadata.JoinInfo(key, far_table, name, NEAR, FAR, reverse_key)
    )
    if reverse_key:
        metadata.record_join(
            conn, far_table, metadata.JoinInfo(reverse_key, collection_id, name, FAR, NEAR, key)
        )
        metadata.set_field_info(
            conn, far_table, reverse_key, metadata.FieldInfo("MULTI_REFERENCE", reverse[1])
        )


def drop_join(ops, conn, join_table: str) -> None:
    """Drop a join table and both directions' records of it."""
    ops.drop_table(join_table)
    metadata.forget_join(conn, join_table)
