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
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from . import dberrors, fieldtypes, joins, metadata
from .catalog import ID, Catalog, Collection
from .errors import (
    CollectionAlreadyExists,
    CollectionChangeNotSupported,
    CollectionNotFound,
    ValidationError,
    change_error,
    violation,
)
from .fieldtypes import MULTI_REFERENCE, REFERENCE, TEXT
from .retypes import Retype, check_retype, using
from .sqltypes import (
    KEY_TEXT,
    SYSTEM_TYPES,
    column_type,
    folds_case,
    name_problem,
    supported_types,
)
from .sync import store as sync_store
from .sync import triggers as sync_triggers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldSpec:
    key: str
    type: str
    display_name: str | None
    description: str | None
    # REFERENCE, MULTI_REFERENCE: (referenced table, its key column, that column's type)
    reference: tuple[str, str, sa.types.TypeEngine] | None = None
    # MULTI_REFERENCE: (field key, display name) of the referenced collection's side
    reverse: tuple[str, str | None] | None = None

    @property
    def is_column(self) -> bool:
        return self.type != MULTI_REFERENCE


def _reference(
    collection: dict, f: dict, i: int, catalog: Catalog, options_key: str, own_key: tuple
):
    """(table, key column, key type) a reference field refers to; the referenced
    collection must exist, or be the collection itself."""
    options = f.get(options_key) or {}
    target = options.get("referencedCollectionId") if isinstance(options, dict) else None
    path = f"collection.fields[{i}].{options_key}.referencedCollectionId"
    if not isinstance(target, str) or not target:
        raise ValidationError(
            [violation(path, target, "A REFERENCE field names the collection it refers to.")]
        )
    if target == collection["id"]:
        return (target, *own_key)
    try:
        referenced = catalog.get(target)
    except CollectionNotFound:
        raise ValidationError([violation(path, target, "No such collection.")]) from None
    if referenced.read_only:
        raise ValidationError(
            [violation(path, target, "A read-only collection has no key to refer to.")]
        )
    key_column = referenced.id_field.column
    return target, key_column.name, key_column.type


def _field_specs(
    collection: dict, dialect, catalog: Catalog, own_key: tuple = (ID, KEY_TEXT)
) -> list[FieldSpec]:
    """Validated field specs. ``own_key``: (name, type) of the collection's key."""
    supported = supported_types(dialect)
    specs, violations, seen = [], [], set()
    for i, f in enumerate(collection.get("fields") or []):
        key, wix_type = f["key"], f["type"]
        folded = key.casefold() if folds_case(dialect) else key
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
        reference, reverse = None, None
        if wix_type == REFERENCE:
            reference = _reference(collection, f, i, catalog, "singleReferenceOptions", own_key)
        elif wix_type == MULTI_REFERENCE:
            reference = _reference(collection, f, i, catalog, "multiReferenceOptions", own_key)
            options = f.get("multiReferenceOptions") or {}
            if options.get("referencedCollectionFieldKey"):
                reverse = (
                    options["referencedCollectionFieldKey"],
                    options.get("referencedCollectionFieldDisplayName"),
                )
        specs.append(
            FieldSpec(key, wix_type, f.get("displayName"), f.get("description"), reference, reverse)
        )
    if violations:
        raise ValidationError(violations)
    return specs


def operations(conn) -> Operations:
    """Alembic operations on a connection, run now (no migration scripts)."""
    return Operations(MigrationContext.configure(conn))


def _new_column(spec: FieldSpec, column_key: str, table_name: str) -> sa.Column:
    if spec.key == ID:
        return sa.Column(column_key, KEY_TEXT, primary_key=True)
    if spec.key == "_owner":
        return sa.Column(column_key, KEY_TEXT)
    if spec.reference is not None:
        table, key_column, key_type = spec.reference
        # A removed item leaves no dangling id: the reference becomes null.
        foreign_key = sa.ForeignKey(
            joins.key_column(table, key_column, key_type),
            ondelete="SET NULL",
            name=joins.constraint_name(table, column_key),
        )
        return sa.Column(column_key, key_type, foreign_key)
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
    specs = _with_system_fields(_field_specs(collection, engine.dialect, catalog))
    _check_reverse_keys(specs, collection_id, None, catalog)
    if catalog.exists(collection_id):
        raise CollectionAlreadyExists(collection_id)
    columns = [_new_column(s, s.key, collection_id) for s in specs if s.is_column]
    try:
        with engine.begin() as conn:
            ops = operations(conn)
            ops.create_table(collection_id, *columns)
            metadata.save_collection_info(conn, collection_id, _info(collection, specs))
            for spec in specs:
                if not spec.is_column:
                    _create_join(ops, conn, collection_id, spec, (ID, KEY_TEXT))
    except sa.exc.DBAPIError as exc:
        if dberrors.unavailable(exc):
            raise
        log.warning("the database refused a new collection: %s", dberrors.describe(exc))
        if not _transactional_ddl(engine.dialect):
            _undo_create(engine, collection_id)  # MariaDB committed what went before
        raise CollectionChangeNotSupported(
            [], "The database refused the collection; nothing was created."
        ) from None
    finally:
        catalog.changed()
    return catalog.refresh(collection_id)


def _check_reverse_keys(
    specs: list[FieldSpec], collection_id: str, current: Collection | None, catalog: Catalog
) -> None:
    """A reverse field must not take a key the referenced collection already uses."""
    violations = []
    for spec in specs:
        if spec.reverse is None or (current is not None and spec.key in current.multi):
            continue
        target, reverse_key = spec.reference[0], spec.reverse[0]
        if target == collection_id:  # a self-reference: the reverse field sits beside ours
            taken = {s.key for s in specs}
            if current is not None:
                taken |= set(current.fields) | set(current.multi)
        else:
            referenced = catalog.get(target)
            taken = set(referenced.fields) | set(referenced.multi)
        if reverse_key in taken:
            violations.append(
                violation(
                    spec.key,
                    reverse_key,
                    "The referenced collection already has a field of that key.",
                )
            )
    if violations:
        raise ValidationError(violations)


def _create_join(ops, conn, collection_id: str, spec: FieldSpec, near: tuple) -> None:
    joins.create_join(
        ops,
        conn,
        collection_id=collection_id,
        key=spec.key,
        near=near,
        far=spec.reference,
        reverse=spec.reverse,
    )


def _referring_fields(engine, table_name: str) -> list[str]:
    """ "table.column" of every foreign key from another table to ``table_name``
    (join tables of MULTI_REFERENCE fields are the connector's, dropped with it)."""
    with engine.connect() as conn:
        every = joins.foreign_keys(conn)
    return [
        f"{other}.{'.'.join(fk['constrained_columns'])}"
        for other, fks in sorted(every.items())
        if other != table_name and not metadata.is_internal(other)
        for fk in fks
        if fk["referred_table"] == table_name
    ]


def _undo_create(engine, collection_id: str) -> None:
    """Remove what a refused create left behind where DDL is not transactional."""
    with engine.begin() as conn:
        ops = operations(conn)
        for join_table in metadata.joins_touching(conn, collection_id):
            if sa.inspect(conn).has_table(join_table):
                joins.drop_join(ops, conn, join_table)
            else:
                metadata.forget_join(conn, join_table)
        if sa.inspect(conn).has_table(collection_id):
            ops.drop_table(collection_id)
        metadata.forget_collection(conn, collection_id)


# --- update -------------------------------------------------------------------


@dataclass
class Plan:
    """The statements an update needs, all checked before any of them runs."""

    adds: list[FieldSpec]
    retypes: list[Retype]
    drops: list
    info: metadata.CollectionInfo
    join_adds: list[FieldSpec]  # MULTI_REFERENCE fields: join tables to create
    join_drops: list[str]  # join tables to drop (with both directions' fields)
    own_key: tuple  # (name, type) of the collection's key column


def update(engine, catalog: Catalog, collection: dict) -> Collection:
    """Make the table match ``collection``: add, retype and drop fields, then store
    names, descriptions, types and permissions. All or nothing."""
    collection_id = collection["id"]
    current = catalog.refresh(collection_id)
    if current.is_view:
        raise CollectionChangeNotSupported([], "A view's structure cannot be changed.")
    with engine.connect() as conn:
        plan = _plan(conn, current, collection, catalog)
    try:
        with engine.begin() as conn:
            _apply(conn, collection_id, plan)
            if current.tracked:  # SQLite rebuilds a changed table without its triggers
                sync_triggers.install(conn, current)
    except sa.exc.DBAPIError as exc:
        if dberrors.unavailable(exc):
            raise
        log.warning("the database refused a collection change: %s", dberrors.describe(exc))
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
        catalog.changed()
    return catalog.refresh(collection_id)


def _transactional_ddl(dialect) -> bool:
    return dialect.name in ("postgresql", "sqlite")


def _plan(conn, current: Collection, collection: dict, catalog: Catalog) -> Plan:
    dialect = conn.dialect
    own_key = (current.id_field.column.name, current.id_field.column.type)
    specs = _field_specs(collection, dialect, catalog, own_key)
    _check_reverse_keys(specs, current.id, current, catalog)
    requested = {s.key: s for s in specs}
    adds = [s for s in specs if s.is_column and s.key not in current.fields]
    drops = [f for k, f in current.fields.items() if k not in requested and k not in SYSTEM_TYPES]
    join_adds = [s for s in specs if not s.is_column and s.key not in current.multi]
    # A join table another tool made is its data, not ours: it is never dropped here.
    join_drops = sorted(
        {
            m.join.name
            for k, m in current.multi.items()
            if k not in requested and metadata.is_internal(m.join.name)
        }
    )
    violations = []
    if folds_case(dialect):  # "Name" cannot be added beside an existing "name"
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
        reason, default = check_retype(conn, current, spec.key, spec.type)
        if reason is None and dialect.name == "sqlite":
            reason = _sqlite_rebuild_problem(conn, current.id)
        if reason:
            errors.append(change_error(spec.key, reason))
        else:
            retypes.append(Retype(spec.key, field.column, spec.type, default))
    if dialect.name == "sqlite":  # dropping a column under a foreign key rebuilds the table
        for field in drops:
            problem = field.column.foreign_keys and _sqlite_rebuild_problem(conn, current.id)
            if problem:
                errors.append(change_error(field.key, problem))
    if errors:
        raise CollectionChangeNotSupported(errors)
    info = _info(collection, specs, current.info)
    for dropped in drops:
        info.fields.pop(dropped.key, None)
    for key, multi in current.multi.items():
        if multi.join.name in join_drops:
            info.fields.pop(key, None)
    return Plan(adds, retypes, drops, info, join_adds, join_drops, own_key)


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
        column = _new_column(spec, spec.key, table_name)
        if column.foreign_keys and conn.dialect.name == "sqlite":
            _add_reference_sqlite(conn, table_name, column)  # Alembic won't, SQLite can
        else:
            ops.add_column(table_name, column)
    if plan.retypes and conn.dialect.name == "sqlite":
        with ops.batch_alter_table(table_name, recreate="always") as batch:
            _retype(batch, conn.dialect, plan.retypes, ())
    else:
        _retype(ops, conn.dialect, plan.retypes, (table_name,))
    for field in plan.drops:
        _drop_column(ops, conn, table_name, field.column)
    for join_table in plan.join_drops:
        joins.drop_join(ops, conn, join_table)
    metadata.save_collection_info(conn, table_name, plan.info)
    for spec in plan.join_adds:  # after the info: a self-reference's reverse field is ours
        _create_join(ops, conn, table_name, spec, plan.own_key)


def _add_reference_sqlite(conn, table_name: str, column: sa.Column) -> None:
    # SQLite adds a column with a REFERENCES clause (default NULL) in place; the
    # identifiers are quoted and the type compiled by SQLAlchemy.
    q = conn.dialect.identifier_preparer.quote
    target = next(iter(column.foreign_keys)).column
    type_sql = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(
        f"ALTER TABLE {q(table_name)} ADD COLUMN {q(column.name)} {type_sql} "
        f"REFERENCES {q(target.table.name)} ({q(target.name)}) ON DELETE SET NULL"
    )


def _drop_column(ops, conn, table_name: str, column: sa.Column) -> None:
    """Drop a column; one under a foreign key loses the key first (MySQL refuses
    otherwise) or, on SQLite, goes by a rebuild of the table (checked in _plan)."""
    if column.foreign_keys and conn.dialect.name == "sqlite":
        with ops.batch_alter_table(table_name, recreate="always") as batch:
            batch.drop_column(column.name)
        return
    if column.foreign_keys and conn.dialect.name in ("mysql", "mariadb"):
        for fk in sa.inspect(conn).get_foreign_keys(table_name):
            if fk["constrained_columns"] == [column.name] and fk.get("name"):
                ops.drop_constraint(fk["name"], table_name, type_="foreignkey")
    ops.drop_column(table_name, column.name)


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
            postgresql_using=using(dialect, column, retype.wix_type),
        )
        if redefault:
            ops.alter_column(*target, column.name, server_default=retype.default)


def delete(engine, catalog: Catalog, collection_id: str) -> None:
    """Drop the collection's table and everything stored about it."""
    current = catalog.refresh(collection_id)
    if current.is_view:
        raise CollectionChangeNotSupported([], "A view cannot be deleted as a collection.")
    referring = _referring_fields(engine, collection_id)
    if referring:
        raise CollectionChangeNotSupported(
            [change_error(f, "This field refers to the collection.") for f in referring],
            "Other collections refer to this one; remove those fields first.",
        )
    with engine.begin() as conn:
        ops = operations(conn)
        touching = metadata.joins_touching(conn, collection_id)
        for join_table in touching:  # both directions' fields go with their join table
            joins.drop_join(ops, conn, join_table)
        if current.tracked:
            sync_store.untrack(conn, current)
        ops.drop_table(collection_id)
        metadata.forget_collection(conn, collection_id)
    catalog.changed()
