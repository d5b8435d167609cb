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
    """Create the app's engine from ``DATABASE_URL`` and dispose of it with the app."""
    url = app.config["DATABASE_URL"]
    app.extensions["connector.engine"] = create_engine(url)


def get_engine(app: Flask) -> Engine:
    """The engine ``init_app`` made for ``app``."""
    return app.extensions["connector.engine"]


def create_engine(url: str) -> Engine:
    """An engine with the connector's per-dialect connection set-up."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _setup_sqlite(engine)
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, pool_recycle=1800)
    _setup_utc(engine)
    return engine


def _setup_utc(engine: Engine) -> None:
    """Sessions run in UTC, so TIMESTAMP WITH TIME ZONE (PostgreSQL) and TIMESTAMP
    (MySQL) values are read and written as UTC whatever the server's zone is."""
    statement = {
        "postgresql": "SET TIME ZONE 'UTC'",
        "mysql": "SET time_zone = '+00:00'",
        "mariadb": "SET time_zone = '+00:00'",
    }.get(engine.dialect.name)
    if statement is None:
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
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
