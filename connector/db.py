"""The database engine of an app: created by ``init_app``, one per process.

Dialect quirks the rest of the code relies on are set up here, once per
connection: SQLite gets WAL, foreign keys, a busy timeout, real transactions
(so savepoints work) and the two Python functions the query compiler needs.
"""

from __future__ import annotations

import re
import time

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def init_app(app: Flask) -> None:
    """Create the app's engine from ``DATABASE_URL`` (and ``DATABASE_SCHEMA``,
    ``CONNECTOR_STATEMENT_TIMEOUT_MS``)."""
    app.extensions["connector.engine"] = create_engine(
        app.config["DATABASE_URL"],
        schema=app.config.get("DATABASE_SCHEMA"),
        statement_timeout_ms=int(app.config["CONNECTOR_STATEMENT_TIMEOUT_MS"]),
    )


def get_engine(app: Flask) -> Engine:
    """The engine ``init_app`` made for ``app``."""
    return app.extensions["connector.engine"]


#: Seconds to wait for a server to accept a connection: a cut network answers 503 soon.
CONNECT_TIMEOUT = 5


def create_engine(
    url: str, *, schema: str | None = None, statement_timeout_ms: int | None = None
) -> Engine:
    """An engine with the connector's per-dialect connection set-up.

    :param schema: on PostgreSQL, the schema whose tables are the collections (and
        where the connector keeps its own); default ``public``.
    :param statement_timeout_ms: the longest any statement may run (PostgreSQL
        ``statement_timeout``, MariaDB ``max_statement_time``, MySQL
        ``max_execution_time``, SQLite a progress handler and the busy timeout);
        None or 0: no limit.
    """
    limit = int(statement_timeout_ms or 0)
    if url.startswith("sqlite"):
        busy = limit / 1000 if limit else 30
        engine = sa.create_engine(url, connect_args={"timeout": busy, "check_same_thread": False})
        _setup_sqlite(engine, limit)
        return engine
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )
    _setup_session(engine, schema, limit)
    return engine


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
