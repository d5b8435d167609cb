"""The catalog: which tables are collections, and their fields.

Collections are reflected SQLAlchemy tables. A table's reflection is cached and
refreshed after ``CONNECTOR_SCHEMA_TTL`` seconds, or at once when a request
names a collection or field the cache does not know (so a table or column
created by another tool shows up without a restart).
"""

from __future__ import annotations

import decimal
import functools
import logging
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import backends, db, fieldtypes, joins, metadata
from .errors import CollectionNotFound
from .fieldtypes import id_to_database, id_to_wire
from .sync import tables as sync_tables

ID = "_id"

log = logging.getLogger("connector")


@dataclass(frozen=True)
class Field:
    """A field of a collection: a column with its Wix type.

    ``expression`` is the column as queries use it; ``exact`` compares and orders
    it case-sensitively by code point (the same expression for non-text fields).
    """

    key: str
    type: str
    column: sa.Column
    expression: sa.ColumnElement
    exact: sa.ColumnElement
    referenced: str | None = None  # REFERENCE: the collection the id belongs to

    @property
    def kind(self) -> str:
        """The storage family (TEXT, NUMBER, ..., OBJECT, ARRAY)."""
        if self.referenced is not None:  # filters compare the id as its column holds it
            return fieldtypes.base_type(fieldtypes.sql_wix_type(self.column.type) or "TEXT")
        return fieldtypes.base_type(self.type)

    @property
    def holds_id(self) -> bool:
        """Whether values are item ids (strings on the wire whatever the column)."""
        return self.key == ID or self.referenced is not None

    @property
    def sortable(self) -> bool:
        return self.kind in fieldtypes.SCALAR_KINDS

    @property
    def integer(self) -> bool:
        return isinstance(self.column.type, sa.Integer)

    def to_database(self, value):
        """``value`` as the column binds it; :class:`fieldtypes.Invalid` when it can't be."""
        if self.holds_id:
            return None if value is None else id_to_database(self.column, value)
        return fieldtypes.to_database(self.type, self.column.type, value)

    def filter_value(self, value):
        """A filter operand for this field: typed like the field, but it need not
        fit the column (``age > 29.5`` on an integer column is a fine filter)."""
        if self.holds_id:
            return id_to_database(self.column, value)
        value = fieldtypes.filter_operand(self.type, value)
        if self.kind == fieldtypes.NUMBER:
            return _number_operand(self.column.type, value)
        if _is_uuid(self.column):
            return fieldtypes.to_text(value, self.column.type)
        return value

    def to_wire(self, value):
        return self.wire(value)

    @functools.cached_property
    def wire(self):
        """The value-to-JSON conversion of this field, chosen once (see fieldtypes.wire_reader)."""
        if self.holds_id:
            return id_to_wire
        return fieldtypes.wire_reader(self.type, self.column.type)


@dataclass
class Collection:
    """A table (or view) served as a Wix collection."""

    id: str
    table: sa.Table
    fields: dict[str, Field]
    id_field: Field
    read_only: bool
    backend: backends.Backend
    info: metadata.CollectionInfo = field(default_factory=metadata.CollectionInfo)
    is_view: bool = False
    tracked: bool = False  # the sync API keeps its change history
    # A member under SITE_MEMBER_AUTHOR reads only their items (permissions.authorize).
    owner_scope: str | None = None
    multi: dict[str, joins.MultiReference] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.monotonic)
    #: The schema version the catalog knew when this was reflected (Catalog.check_version).
    version: str | None = None
    _reader_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def row_to_item(self, row) -> dict:
        """A result row (whose keys are field keys) as a wire item."""
        return self.rows_to_items([row])[0]

    def rows_to_items(self, rows) -> list[dict]:
        """Result rows (a list, or a result to read to the end) as wire items.
        Columns that are not fields (cursor keys, join columns) are left out."""
        rows = rows if isinstance(rows, list) else rows.all()
        if not rows:
            return []
        picks = self._readers(rows[0]._fields)
        return [{key: wire(row[i]) for i, key, wire in picks} for row in rows]

    def _readers(self, keys: tuple) -> list:
        """(position, key, conversion) of the result columns that are fields:
        worked out once per distinct result shape, not once per row."""
        readers = self._reader_cache.get(keys)
        if readers is None:
            # Plain str keys: reflected names are str subclasses, which orjson refuses.
            readers = [(i, str(k), f.wire) for i, k in enumerate(keys) if (f := self.fields.get(k))]
            if len(self._reader_cache) > 64:  # projections are few; never let them pile up
                self._reader_cache.clear()
            self._reader_cache[keys] = readers
        return readers

    def target(self, key: str):
        """A field or MULTI_REFERENCE field by key, for filters (None: unknown)."""
        return self.fields.get(key) or self.multi.get(key)

    def select_fields(self, keys=None):
        """Labelled columns for ``keys`` (all fields when None), ``_id`` always first."""
        chosen = (
            list(self.fields)
            if not keys
            else [ID, *(k for k in keys if k != ID and k in self.fields)]
        )
        return [self.fields[k].expression.label(k) for k in dict.fromkeys(chosen)]


def _number_operand(column_type, value):
    """A number as the column's own type: drivers type a whole IN list by its
    first value (psycopg casts [0, 0.5] to INTEGER), and SQLAlchemy renders an
    integer column's IN list through int()."""
    if isinstance(column_type, sa.Float):
        return float(value)
    if isinstance(column_type, sa.Integer):
        if isinstance(value, int):
            return value
        if value.is_integer() and abs(value) < fieldtypes.INT64:
            return int(value)
        return sa.literal(value, sa.Double())
    if isinstance(column_type, sa.Numeric):
        return decimal.Decimal(repr(value) if isinstance(value, float) else value)
    return value


class Catalog:
    """Reflects and caches the collections of one database.

    :param engine: the database.
    :param ttl: seconds a reflected table is trusted before it is reflected again.
    """

    def __init__(self, engine: Engine, *, ttl: float = 30.0, tables: frozenset | None = None):
        self.engine = engine
        self.ttl = ttl
        self.tables = tables  # CONNECTOR_TABLES: the only tables served, when set
        self._cache: dict[str, Collection] = {}
        self._lock = threading.Lock()
        self._backend: backends.Backend | None = None
        self._version: str | None = None  # the schema version the cache was filled at

    @property
    def backend(self) -> backends.Backend:
        if self._backend is None:
            with self.engine.connect() as conn:
                self._backend = backends.for_connection(conn)
        return self._backend

    def get(self, collection_id: str) -> Collection:
        """The collection ``collection_id``, or :class:`CollectionNotFound`."""
        cached = self._cache.get(collection_id)
        if cached is not None and time.monotonic() - cached.loaded_at < self.ttl:
            return cached
        return self.refresh(collection_id)

    def refresh(self, collection_id: str) -> Collection:
        """Reflect ``collection_id`` again (after the schema may have changed)."""
        with self._lock:
            # Read before the table: the table then holds at least this version's changes.
            version = self._version
            collection = self._reflect(collection_id)
            if collection is None:
                self._cache.pop(collection_id, None)
                raise CollectionNotFound(collection_id)
            collection.version = version
            self._cache[collection_id] = collection
            return collection

    def forget(self, collection_id: str) -> None:
        """Drop a collection from the cache (after its schema or metadata changed)."""
        self._cache.pop(collection_id, None)

    def forget_all(self) -> None:
        """Drop every cached collection (after a schema change that may touch
        several: a join table gives two collections a field)."""
        self._cache.clear()

    def changed(self) -> None:
        """After this process changed a schema: drop the cache here, and give the
        schema a new version so every other process (workers, machines) drops its
        own on its next request."""
        self._cache.clear()
        try:
            with self.engine.begin() as conn:
                self._version = metadata.bump_schema_version(conn)
        except sa.exc.SQLAlchemyError:  # the change itself most likely failed with it
            log.warning("could not record a schema change for the other processes")

    def check_version(self, conn, collection: Collection | None = None) -> bool:
        """Whether another process changed a schema since the cache was filled, or
        since ``collection`` (the one the request is about to use) was reflected;
        then it is dropped from the cache. One indexed read on the request's own
        connection, which on PostgreSQL the checkout's pre-ping has already made.
        The TTL stays as the backstop for tables changed by other tools."""
        version = db.pinged_version(conn)
        if version is db.NOT_PINGED:
            version = metadata.schema_version(conn)
        if version != self._version:
            self._cache.clear()
            self._version = version
            return True
        if collection is None or collection.version == version:
            return False
        # Taken from the cache just before another thread of this process saw the
        # new version and cleared it, or reflected while it did.
        # (Every such entry: the cache's keys are the ids requested, which on
        # SQLite may differ in case from the collection's.)
        for key, cached in list(self._cache.items()):
            if cached.version != version:
                self._cache.pop(key, None)
        return True

    def collection_ids(self) -> list[str]:
        """Every table and view that may be served, by name."""
        inspector = sa.inspect(self.engine)
        names = [*inspector.get_table_names(), *inspector.get_view_names()]
        return sorted(n for n in names if self._servable(n))

    def exists(self, name: str) -> bool:
        """Whether a table or view of that name exists, served or not (on SQLite,
        whose table names ignore case, in any case)."""
        inspector = sa.inspect(self.engine)
        names = [*inspector.get_table_names(), *inspector.get_view_names()]
        if self.engine.dialect.name == "sqlite":
            return name.casefold() in {n.casefold() for n in names}
        return name in names

    def _servable(self, name) -> bool:
        return (
            isinstance(name, str)
            and not metadata.is_internal(name)
            and (self.tables is None or name in self.tables)
        )

    def _reflect(self, collection_id: str) -> Collection | None:
        if not self._servable(collection_id):
            return None
        backend = self.backend
        with self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            tables = inspector.get_table_names()
            # Ids are case-sensitive even where the database's names are not.
            is_view = collection_id not in tables
            if is_view and collection_id not in inspector.get_view_names():
                return None
            table = sa.Table(collection_id, sa.MetaData(), autoload_with=conn)
            if getattr(conn.dialect, "is_mariadb", False) and collection_id in tables:
                _mark_mariadb_json(conn, table)
            info = metadata.collection_info(conn, collection_id)
            collection = build_collection(table, backend, info, self._servable)
            if collection is not None:
                collection.tracked = _tracked(conn, collection_id)
                collection.multi = {
                    **joins.made_elsewhere(conn, collection_id, tables, self._servable),
                    **joins.recorded(conn, collection_id),
                }
        if collection is not None and is_view:
            collection.is_view = collection.read_only = True
        return collection


def _tracked(conn, collection_id: str) -> bool:
    counters = sync_tables.sync_collections
    stmt = sa.select(counters.c.last_seq).where(counters.c.collection_id == collection_id)
    return conn.execute(stmt).first() is not None


def build_collection(
    table: sa.Table, backend, info: metadata.CollectionInfo, servable=lambda name: True
) -> Collection | None:
    """A Collection over a reflected ``table``, or None when it can't be served."""
    pk = list(table.primary_key.columns)
    if len(pk) == 1:
        id_column, read_only = pk[0], False
    else:
        id_column = table.c.get(ID) if ID in table.c else table.c.get("id")
        read_only = True
        if id_column is None:
            return None
    fields: dict[str, Field] = {}
    for column in table.columns:
        key = ID if column is id_column else column.key
        if key == ID and column is not id_column:
            continue  # an `_id` column beside the real key would shadow it
        declared = info.fields.get(key)
        wix_type = _wix_type(column, declared.wix_type if declared else None)
        if wix_type is None:
            continue
        if key == ID:
            wix_type = fieldtypes.TEXT if wix_type != fieldtypes.NUMBER else wix_type
        _read_exactly(column.type)
        text = fieldtypes.base_type(wix_type) == fieldtypes.TEXT
        exact = backend.exact_text(column, column) if text and not _is_uuid(column) else column
        referenced = _referenced_collection(column, servable) if key != ID else None
        if referenced is not None:
            wix_type = fieldtypes.REFERENCE
        fields[key] = Field(key, wix_type, column, column, exact, referenced)
    id_field = fields.get(ID)
    if id_field is None:
        return None  # a key of a type the connector cannot carry (BLOB, untyped)
    ordered = {ID: id_field, **{k: v for k, v in fields.items() if k != ID}}
    return Collection(table.name, table, ordered, id_field, read_only, backend, info)


def _referenced_collection(column: sa.Column, servable) -> str | None:
    """The collection a column refers to: a one-column foreign key to the one-column
    primary key of a table the connector serves (other foreign keys are plain values)."""
    for fk in column.foreign_keys:
        target = fk.column
        if (
            len(fk.constraint.columns) == 1
            and target.primary_key
            and len(target.table.primary_key.columns) == 1
            and servable(target.table.name)
        ):
            return target.table.name
    return None


def _is_uuid(column) -> bool:
    return isinstance(column.type, sa.Uuid)


def _read_exactly(column_type) -> None:
    """Adjust a reflected type so values come back exactly as stored."""
    if isinstance(column_type, sa.JSON):
        column_type.none_as_null = True  # a null field is SQL NULL, not JSON 'null'
    if isinstance(column_type, sa.Float):
        column_type.asdecimal = False  # MySQL's DOUBLE would round to 10 decimals


def _wix_type(column: sa.Column, declared: str | None) -> str | None:
    implied = fieldtypes.sql_wix_type(column.type)
    if implied is None:
        return None
    if declared and fieldtypes.base_type(declared) in (
        implied,
        fieldtypes.ARRAY if implied == fieldtypes.OBJECT else None,
    ):
        return declared
    return implied


_CHECKS = sa.table(
    "CHECK_CONSTRAINTS",
    sa.column("CONSTRAINT_SCHEMA"),
    sa.column("TABLE_NAME"),
    sa.column("CHECK_CLAUSE"),
    schema="information_schema",
)


def _mark_mariadb_json(conn, table: sa.Table) -> None:
    """MariaDB stores JSON as LONGTEXT with a json_valid() check: read it as JSON."""
    clauses = conn.execute(
        sa.select(_CHECKS.c.CHECK_CLAUSE).where(
            sa.func.database() == _CHECKS.c.CONSTRAINT_SCHEMA, table.name == _CHECKS.c.TABLE_NAME
        )
    ).scalars()
    checked = {c.replace("`", "").replace(" ", "").lower() for c in clauses}
    for column in table.columns:
        if f"json_valid({column.name.lower()})" in checked and isinstance(column.type, sa.String):
            column.type = sa.JSON()
