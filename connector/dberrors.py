"""Telling database errors apart: "the database cannot serve now" (503) versus
"the database refused this request" (a client error).

Drivers raise OperationalError for both (PyMySQL for a failed CHECK, SQLite for
a locked file), so the class alone does not say which; the error code does.
"""

from __future__ import annotations

import sqlalchemy as sa

# PostgreSQL SQLSTATE classes: connection exception, insufficient resources,
# operator intervention (shutdown, statement timeout), transaction rollback
# (serialization failure, deadlock).
_PG_CLASSES = ("08", "53", "57", "40")
# MySQL/MariaDB: lost or refused connection, too many connections, lock wait
# timeout, deadlock, server shutdown, statement timeouts.
_MYSQL_CODES = {2002, 2003, 2006, 2013, 2055, 1040, 1053, 1205, 1213, 1927, 1969, 3024}
_SQLITE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "unable to open",
    "disk i/o error",
    "interrupted",
)


def unavailable(exc: sa.exc.DBAPIError) -> bool:
    """Whether ``exc`` means the database cannot serve now (try again later)."""
    if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError) or retryable(exc):
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if type(orig).__module__.startswith("psycopg"):
        if sqlstate is None:  # raised by the driver itself: a NUL in text is a DataError
            return not isinstance(exc, (sa.exc.DataError, sa.exc.ProgrammingError))
        return sqlstate[:2] in _PG_CLASSES
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_CODES
    message = str(orig).lower()
    return any(text in message for text in _SQLITE_MESSAGES)


# A statement stopped by the connector's time limit: PostgreSQL query_canceled,
# MariaDB ER_STATEMENT_TIMEOUT, MySQL ER_QUERY_TIMEOUT, SQLite's interrupt.
_PG_TIMEOUT = "57014"
_MYSQL_TIMEOUT_CODES = {1969, 3024}


# Transactions the database rolled back whole to break a conflict: PostgreSQL
# serialization_failure and deadlock_detected; MySQL/MariaDB deadlock (1213).
_PG_RETRYABLE = ("40001", "40P01")
_MYSQL_RETRYABLE = {1213}


def retryable(exc: sa.exc.DBAPIError) -> bool:
    """Whether ``exc`` aborted the whole transaction to break a conflict, so that
    running the transaction again is safe and likely to succeed."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PG_RETRYABLE:
        return True
    args = getattr(orig, "args", ())
    return bool(args) and isinstance(args[0], int) and args[0] in _MYSQL_RETRYABLE


def timed_out(exc: sa.exc.DBAPIError) -> bool:
    """Whether ``exc`` is a statement stopped by ``CONNECTOR_STATEMENT_TIMEOUT_MS``."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _PG_TIMEOUT:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_TIMEOUT_CODES
    return type(orig).__module__.startswith("sqlite3") and "interrupted" in str(orig).lower()


# MySQL/MariaDB report a failed CHECK as an OperationalError.
_MYSQL_CONSTRAINT_CODES = {3819, 4025}


def refusal(exc: sa.exc.DBAPIError) -> str:
    """A message for a write the database refused, without the driver's text."""
    args = getattr(exc.orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    if isinstance(exc, sa.exc.IntegrityError) or code in _MYSQL_CONSTRAINT_CODES:
        return "The item breaks a constraint of the table (unique, foreign key, check or not null)."
    if isinstance(exc, sa.exc.DataError):
        return "A value of the item does not fit its column."
    return "The database refused the item."


# A duplicate key: PostgreSQL unique_violation, MySQL/MariaDB ER_DUP_ENTRY.
_PG_UNIQUE = "23505"
_MYSQL_DUP_ENTRY = 1062


def duplicate_primary_key(exc: sa.exc.DBAPIError, table: sa.Table) -> bool:
    """Whether ``exc`` is a clash on ``table``'s primary key (and not on another
    unique key): the id existed when the statement ran, even if a concurrent
    remove has taken it away since."""
    orig = exc.orig
    columns = [c.name for c in table.primary_key.columns]
    if type(orig).__module__.startswith("psycopg"):
        name = orig.diag.constraint_name
        return orig.sqlstate == _PG_UNIQUE and name is not None and name == table.primary_key.name
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        # "Duplicate entry '…' for key 'PRIMARY'" (MySQL 8 says 'table.PRIMARY').
        text = str(args[1]) if len(args) > 1 else ""
        return args[0] == _MYSQL_DUP_ENTRY and text.endswith("PRIMARY'")
    if type(orig).__module__.startswith("sqlite3"):
        # "UNIQUE constraint failed: table.column[, table.column]"
        failed = str(orig).partition("constraint failed: ")[2]
        return failed == ", ".join(f"{table.name}.{c}" for c in columns)
    return False


def describe(exc: sa.exc.DBAPIError) -> str:
    """``exc`` for the log: the driver's error class and code, never its text,
    which can quote the row (item data) the statement carried."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None)
    args = getattr(orig, "args", ())
    if code is None and args and isinstance(args[0], int):
        code = args[0]
    name = f"{type(orig).__module__.split('.')[0]}.{type(orig).__name__}"
    return f"{name} (code {code})" if code is not None else name
