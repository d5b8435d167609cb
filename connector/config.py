"""Settings, read from the environment (or a ``config`` mapping in tests)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy.engine import make_url

#: Every setting the connector reads, with its default.
DEFAULTS: dict[str, object] = {
    "DATABASE_URL": None,  # None: a SQLite file in the instance folder
    "DATABASE_READ_URL": None,  # comma-separated read replicas of DATABASE_URL
    "WIX_APP_ID": None,
    "WIX_PUBLIC_KEY": None,
    "CONNECTOR_API_KEY": None,
    "CONNECTOR_SECRET_KEY": None,  # None: generated once, kept in the database
    "CONNECTOR_MAX_BODY": 16 * 1024 * 1024,
    "CONNECTOR_SCHEMA_TTL": 30.0,
    "CONNECTOR_JWT_LEEWAY": 60,
    "CONNECTOR_READ_ONLY_SCHEMA": False,
    "CONNECTOR_ENFORCE_PERMISSIONS": False,  # check collection permissions per caller
    "CONNECTOR_TENANTS": None,  # JSON {instanceId: database URL}: one database per site
    "CONNECTOR_TABLES": None,  # comma-separated allow-list of served tables
    "DATABASE_SCHEMA": None,  # PostgreSQL schema of the collections (default public)
    "CONNECTOR_MAX_INDEXES": 64,
    "CONNECTOR_STATEMENT_TIMEOUT_MS": 10_000,  # the longest a statement may run; 0: no limit
    "CONNECTOR_METRICS_REQUIRE_KEY": False,  # /metrics only with the API key
    "CONNECTOR_PROXY_HOPS": 0,  # proxies whose X-Forwarded-* headers are trusted
    "DATABASE_POOL_SIZE": 5,  # connections each worker process keeps open
    "DATABASE_MAX_OVERFLOW": 10,  # more it may open under load
    "CONNECTOR_SYNC_PREFIX": "/sync",  # where the sync API is mounted
    "CONNECTOR_SYNC_OVERFLOW_FIELD": "overflow",  # JSON column for fields without one
    "CONNECTOR_SYNC_REVS_LIMIT": 1000,  # generations of history kept per document
}

# Drivers we ship: the bare scheme a hosting provider gives is rewritten to them.
_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def from_env(environ: Mapping[str, str] | None = None) -> dict:
    """The settings found in ``environ`` (default: ``os.environ``), typed."""
    environ = os.environ if environ is None else environ
    settings = {}
    for key, default in DEFAULTS.items():
        raw = environ.get(key)
        if raw in (None, ""):
            continue
        if isinstance(default, bool):
            settings[key] = flag(raw)
        elif isinstance(default, (int, float)):
            settings[key] = type(default)(raw)
        else:
            settings[key] = raw
    return settings


def flag(value) -> bool:
    """A boolean setting: true/1/yes/on (any case) is true."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def table_list(value) -> frozenset | None:
    """``CONNECTOR_TABLES`` as a set of names (None: every table)."""
    if not value:
        return None
    names = value if isinstance(value, (list, tuple, set, frozenset)) else value.split(",")
    return frozenset(n.strip() for n in names if n.strip())


def normalize_database_url(url: str) -> str:
    """Rewrite Heroku-style and driverless URLs to the drivers the connector ships.

    ``postgres://`` and ``postgresql://`` become psycopg 3, ``mysql://`` PyMySQL;
    MySQL URLs get ``charset=utf8mb4`` so every character round-trips.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    scheme = _DRIVERS.get(scheme, scheme)
    parsed = make_url(f"{scheme}://{rest}")
    if parsed.get_backend_name() in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


def sync_prefix(config: Mapping) -> str:
    """Where the sync API is mounted (``CONNECTOR_SYNC_PREFIX``): ``/name``, no trailing slash."""
    return "/" + str(config["CONNECTOR_SYNC_PREFIX"]).strip("/")
