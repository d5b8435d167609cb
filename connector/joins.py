"""Join tables of MULTI_REFERENCE fields: named deterministically, created and
dropped with their field, recorded (both directions) in the metadata, and
reflected as fields (recorded ones, and pure join tables other tools made).

A join table holds (referring_id, referenced_id, created): unique on the pair,
each side a foreign key with cascading delete, so removing an item, truncating
or deleting a collection leaves no reference behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from . import metadata
from .fieldtypes import MULTI_REFERENCE, id_to_database
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


# --- join tables as fields ------------------------------------------------


@dataclass(frozen=True)
class MultiReference:
    """A MULTI_REFERENCE field: references kept in a join table, not in the item.

    ``near`` holds this collection's item ids, ``far`` the referenced collection's,
    ``created`` when each reference was made (the order references come in).
    """

    key: str
    referenced: str
    join: sa.Table
    near: sa.Column
    far: sa.Column
    created: sa.Column | None
    reverse_key: str | None = None
    type: str = MULTI_REFERENCE
    kind: str = MULTI_REFERENCE
    column: None = None
    expression: None = None
    exact: None = None

    def has(self, id_column: sa.Column, values: list, *, every: bool):
        """Items referring to some (or, ``every``, all) of the ids ``values``."""
        ids = [id_to_database(self.far, v) for v in values]

        def refers_to(wanted):
            return sa.exists().where(self.near == id_column, self.far.in_(wanted))

        if not ids:
            return sa.false()
        return sa.and_(*(refers_to([i]) for i in ids)) if every else refers_to(ids)


def recorded(conn, collection_id: str) -> dict[str, MultiReference]:
    found = {}
    for info in metadata.join_infos(conn, collection_id):
        try:
            join = sa.Table(info.join_table, sa.MetaData(), autoload_with=conn)
        except sa.exc.NoSuchTableError:
            continue  # dropped by another tool: nothing to serve
        found[info.field_key] = MultiReference(
            info.field_key,
            info.referenced_collection,
            join,
            join.c[info.near_column],
            join.c[info.far_column],
            join.c.get("created"),
            info.reverse_field_key,
        )
    return found


def foreign_keys(conn) -> dict[str, list[dict]]:
    """Every table's foreign keys, in one batched reflection (not a query a table)."""
    return {table: fks for (_, table), fks in sa.inspect(conn).get_multi_foreign_keys().items()}


def made_elsewhere(conn, collection_id: str, tables: list[str], servable) -> dict:
    """Join tables another tool made: a key of exactly two one-column foreign keys
    to served collections, and nothing else but timestamps. Each appears as a
    MULTI_REFERENCE field (named after the table) on both of its collections."""
    found = {}
    candidates = {}
    for name, fks in foreign_keys(conn).items():
        if metadata.is_internal(name) or name == collection_id or name not in tables:
            continue
        sides = {
            fk["constrained_columns"][0]: fk["referred_table"]
            for fk in fks
            if len(fk["constrained_columns"]) == 1
        }
        if (
            collection_id in sides.values()
            and len(sides) == 2
            and len(set(sides.values())) == 2  # a self-join would be ambiguous: left out
            and all(servable(t) for t in sides.values())
        ):
            candidates[name] = sides
    if not candidates:
        return found
    keys = sa.inspect(conn).get_multi_pk_constraint(filter_names=list(candidates))
    for (_, name), key in keys.items():
        sides = candidates[name]
        if sorted(key.get("constrained_columns") or []) != sorted(sides):
            continue  # not a pure pair
        join = sa.Table(name, sa.MetaData(), autoload_with=conn)
        others = [c for c in join.columns if c.name not in sides]
        if not all(isinstance(c.type, sa.DateTime) for c in others):
            continue
        near = next(c for c, t in sides.items() if t == collection_id)
        far = next(c for c, t in sides.items() if t != collection_id)
        found[name] = MultiReference(
            name,
            sides[far],
            join,
            join.c[near],
            join.c[far],
            others[0] if others else None,
            reverse_key=name,
        )
    return found
