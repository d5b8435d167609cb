"""The database engine of an app: created by ``init_app``, one per process.

Dialect quirks the rest of the code relies on are set up here, once per
connection: SQLite gets WAL, foreign keys, a busy timeout, real transactions
(so savepoints work) and the two Python functions the query compiler needs.
"""

from __future__ import annotations

import re
import time
import weakref

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import metadata
from .config import normalize_database_url
from .watchdog import WATCHDOG


def init_app(app: Flask) -> None:
    """Create the app's engine from ``DATABASE_URL``, and one per read replica
    ``DATABASE_READ_URL`` names, with the engine settings."""
    options = engine_options(app.config)
    app.extensions["connector.engine"] = create_engine(app.config["DATABASE_URL"], **options)
    app.extensions["connector.replicas"] = [
        create_engine(url, **options) for url in replica_urls(app.config.get("DATABASE_READ_URL"))
    ]


def replica_urls(setting: str | None) -> list[str]:
    """The URLs of ``DATABASE_READ_URL``: comma-separated, in the forms
    ``DATABASE_URL`` takes (``postgres://`` is rewritten to our driver)."""
    return [normalize_database_url(u.strip()) for u in (setting or "").split(",") if u.strip()]


def engine_options(config) -> dict:
    """The keyword arguments of :func:`create_engine` that come from settings
    (the same for the main database and every site's)."""
    return {
        "schema": config.get("DATABASE_SCHEMA"),
        "statement_timeout_ms": int(config["CONNECTOR_STATEMENT_TIMEOUT_MS"]),
        "pool_size": int(config["DATABASE_POOL_SIZE"]),
        "max_overflow": int(config["DATABASE_MAX_OVERFLOW"]),
    }


def get_engine(app: Flask) -> Engine:
    """The engine ``init_app`` made for ``app``."""
    return app.extensions["connector.engine"]


def get_replicas(app: Flask) -> list[Engine]:
    """The engines of the app's read replicas (none unless ``DATABASE_READ_URL``)."""
    return app.extensions["connector.replicas"]


#: Seconds to wait for a server to accept a connection: a cut network answers 503 soon.
CONNECT_TIMEOUT = 5


def create_engine(
    url: str,
    *,
    schema: str | None = None,
    statement_timeout_ms: int | None = None,
    pool_size: int = 5,
    max_overflow: int = 10,
) -> Engine:
    """An engine with the connector's per-dialect connection set-up.

    :param schema: on PostgreSQL, the schema whose tables are the collections (and
        where the connector keeps its own); default ``public``.
    :param statement_timeout_ms: the longest any statement may run (PostgreSQL
        ``statement_timeout``, MariaDB ``max_statement_time``, MySQL
        ``max_execution_time``, SQLite a progress handler and the busy timeout);
        None or 0: no limit.
    :param pool_size: connections the pool keeps open (servers only).
    :param max_overflow: connections it may open beyond ``pool_size`` under load.
    """
    limit = int(statement_timeout_ms or 0)
    if url.startswith("sqlite"):
        busy = limit / 1000 if limit else 30
        engine = sa.create_engine(url, connect_args={"timeout": busy, "check_same_thread": False})
        _setup_sqlite(engine, limit)
        return engine
    mysql_family = sa.engine.make_url(url).get_backend_name() in ("mysql", "mariadb")
    connect_args = {"connect_timeout": CONNECT_TIMEOUT}
    if mysql_family:
        # PyMySQL's connect_timeout covers only the TCP connect; the greeting and
        # login are reads, bounded by read_timeout (raised after connecting).
        connect_args["read_timeout"] = connect_args["write_timeout"] = CONNECT_TIMEOUT
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args=connect_args,
    )
    _setup_session(engine, schema, limit)
    _watch(engine, limit)
    return engine


#: Seconds a call may outlive the statement timeout before the client gives up on
#: the connection (the server stops the statement itself at the timeout).
GRACE = 2


def _fileno(dbapi_connection) -> int:
    if hasattr(dbapi_connection, "pgconn"):  # psycopg
        return dbapi_connection.fileno()
    return dbapi_connection._sock.fileno()  # PyMySQL keeps its socket here


def _watch(engine: Engine, limit: int) -> None:
    """Client-side deadlines (see watchdog.py): the pre-ping gets CONNECT_TIMEOUT;
    statements get the statement timeout and GRACE (psycopg by the watchdog,
    PyMySQL by its read and write timeouts, set per connection)."""
    ping = engine.dialect.do_ping
    read_version = _version_ping(engine) if engine.dialect.name == "postgresql" else None

    def do_ping(dbapi_connection):
        token = WATCHDOG.start(_fileno(dbapi_connection), CONNECT_TIMEOUT)
        try:
            if read_version is not None and read_version(dbapi_connection):
                return True
            return ping(dbapi_connection)
        finally:
            WATCHDOG.stop(token)

    engine.dialect.do_ping = do_ping
    if engine.dialect.name in ("mysql", "mariadb"):
        seconds = limit / 1000 + GRACE if limit else None  # None: wait as long as it takes

        @event.listens_for(engine, "connect")
        def _timeouts(dbapi_connection, _record):
            dbapi_connection._read_timeout = dbapi_connection._write_timeout = seconds

        return
    if not limit:
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, _statement, _params, _context, _many):
        conn.info["connector.watch"] = WATCHDOG.start(
            cursor.connection.fileno(), limit / 1000 + GRACE
        )

    def _stop(conn, *_args):
        token = conn.info.pop("connector.watch", None)
        if token is not None:
            WATCHDOG.stop(token)

    event.listen(engine, "after_cursor_execute", _stop)

    @event.listens_for(engine, "handle_error")
    def _failed(context):
        if context.connection is not None:
            _stop(context.connection)


#: The schema version each PostgreSQL connection's pre-ping read at its latest
#: checkout, until the request takes it (see :func:`pinged_version`).
_pinged_versions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: What :func:`pinged_version` answers when the checkout read no version.
NOT_PINGED = object()


def pinged_version(conn: sa.Connection):
    """The schema version the pre-ping of ``conn``'s checkout read, taken once;
    :data:`NOT_PINGED` when it read none (a new connection, SQLite, MySQL).

    Every request reads the schema version first thing (``Catalog.check_version``)
    and every checkout pings first: on PostgreSQL the ping is that read, which
    saves a round trip per request without reading the version any earlier.
    """
    if conn.dialect.name != "postgresql":  # (sqlite3 connections take no weak reference)
        return NOT_PINGED
    return _pinged_versions.pop(conn.connection.dbapi_connection, NOT_PINGED)


def _version_ping(engine: Engine):
    """A pre-ping for psycopg that reads the schema version (in autocommit, as
    SQLAlchemy's own ping does): whether it could. It cannot where the settings
    table is not there yet (a new database, a replica that has not replayed it);
    then the plain ping runs."""
    sql = metadata.schema_version_sql(engine.dialect)
    missing = engine.dialect.loaded_dbapi.ProgrammingError

    @event.listens_for(engine, "checkin")
    def _forget(dbapi_connection, _record):
        if dbapi_connection is not None:
            _pinged_versions.pop(dbapi_connection, None)

    def read_version(dbapi_connection) -> bool:
        before = dbapi_connection.autocommit
        if not before:
            dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(sql)
                row = cursor.fetchone()
        except missing:
            return False
        finally:
            if not before and not dbapi_connection.closed:
                dbapi_connection.autocommit = before
        _pinged_versions[dbapi_connection] = row[0] if row else None
        return True

    return read_version


def _setup_session(engine: Engine, schema: str | None, limit: int) -> None:
    """Sessions run in UTC, so TIMESTAMP WITH TIME ZONE (PostgreSQL) and TIMESTAMP
    (MySQL) values are read and written as UTC whatever the server's zone is; on
    PostgreSQL the search path is ``schema`` when one is configured; every
    statement runs under the ``limit`` in milliseconds (0: none)."""
    if engine.dialect.name == "postgresql":
        statements = ["SET TIME ZONE 'UTC'", f"SET statement_timeout = {int(limit)}"]
        if schema:  # an identifier: quoted by SQLAlchemy, never bound or pasted raw
            statements.append(
                f"SET search_path TO {engine.dialect.identifier_preparer.quote_schema(schema)}"
            )
    elif engine.dialect.name in ("mysql", "mariadb"):
        statements = ["SET time_zone = '+00:00'"]
    else:
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for statement in statements + _mysql_limit(dbapi_connection, engine, limit):
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # a SET inside a rolled-back transaction would be undone


def _mysql_limit(dbapi_connection, engine: Engine, limit: int) -> list[str]:
    if engine.dialect.name not in ("mysql", "mariadb"):
        return []
    if "mariadb" in dbapi_connection.get_server_info().lower():
        return [f"SET SESSION max_statement_time = {limit / 1000:.3f}"]  # seconds
    return [f"SET SESSION max_execution_time = {int(limit)}"]  # MySQL: SELECTs, in ms


def _setup_sqlite(engine: Engine, limit: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record):
        # pysqlite's own transaction handling defeats SAVEPOINT; take it over.
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function("connector_lower", 1, _lower, deterministic=True)
        dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if limit:
            # SQLite has no statement timeout: the handler, called every few
            # thousand VM steps, interrupts a statement past its deadline.
            deadline = record.info["connector.deadline"] = [None]

            def _past_deadline():
                return deadline[0] is not None and time.monotonic() > deadline[0]

            dbapi_connection.set_progress_handler(_past_deadline, 4000)

    if limit:

        @event.listens_for(engine, "before_cursor_execute")
        def _start(conn, _cursor, _statement, _params, _context, _many):
            deadline = conn.info.get("connector.deadline")
            if deadline is not None:
                deadline[0] = time.monotonic() + limit / 1000

        @event.listens_for(engine, "after_cursor_execute")
        def _stop(conn, _cursor, _statement, _params, _context, _many):
            deadline = conn.info.get("connector.deadline")
            if deadline is not None:
                deadline[0] = None

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the write lock up front so a read-then-write never fails halfway.
        write = connection.get_execution_options().get("connector_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _lower(value):
    # Unicode-aware, unlike SQLite's lower(), so $contains ignores case for every letter.
    return value.lower() if isinstance(value, str) else value


_REGEX_CACHE: dict[str, re.Pattern] = {}


def _regexp(pattern, value):
    if pattern is None or value is None:
        return None
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        if len(_REGEX_CACHE) > 256:
            _REGEX_CACHE.clear()
        compiled = _REGEX_CACHE[pattern] = re.compile(pattern, re.DOTALL)
    return compiled.search(str(value)) is not None
