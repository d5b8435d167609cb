"""The database engine of an app: created by ``init_app``, one per process.

Dialect quirks the rest of the code relies on are set up here, once per
connection: SQLite gets WAL, foreign keys, a busy timeout, real transactions
(so savepoints work) and the two Python functions the query compiler needs.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def init_app(app: Flask) -> None:
    """Create the app's engine from ``DATABASE_URL`` (and ``DATABASE_SCHEMA``)."""
    url = app.config["DATABASE_URL"]
    app.extensions["connector.engine"] = create_engine(
        url, schema=app.config.get("DATABASE_SCHEMA")
    )


def get_engine(app: Flask) -> Engine:
    """The engine ``init_app`` made for ``app``."""
    return app.extensions["connector.engine"]


def create_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine with the connector's per-dialect connection set-up.

    :param schema: on PostgreSQL, the schema whose tables are the collections (and
        where the connector keeps its own); default ``public``.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _setup_sqlite(engine)
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, pool_recycle=1800)
    _setup_session(engine, schema)
    return engine


def _setup_session(engine: Engine, schema: str | None) -> None:
    """Sessions run in UTC, so TIMESTAMP WITH TIME ZONE (PostgreSQL) and TIMESTAMP
    (MySQL) values are read and written as UTC whatever the server's zone is; on
    PostgreSQL the search path is ``schema`` when one is configured."""
    if engine.dialect.name == "postgresql":
        statements = ["SET TIME ZONE 'UTC'"]
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
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # a SET inside a rolled-back transaction would be undone


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # pysqlite's own transaction handling defeats SAVEPOINT; take it over.
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function("connector_lower", 1, _lower, deterministic=True)
        dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

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
