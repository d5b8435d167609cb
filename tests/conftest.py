"""Test harness: every behaviour runs on SQLite, PostgreSQL and MariaDB.

Server URLs come from ``TEST_POSTGRESQL_URL`` and ``TEST_MYSQL_URL``. Each
server gets a scratch database for the session, emptied before every test.
Outside CI an unreachable server is a loud skip; with ``CI=true`` it fails.

Fixtures for tests:
- ``backend``: "sqlite", "postgresql" or "mariadb" (every test using ``engine``,
  ``app`` or ``wix`` runs once per backend).
- ``engine``: a SQLAlchemy engine on that backend's empty test database; create
  the tables a test needs with ``create_table`` before using ``wix``.
- ``app``: the connector app on that database (created lazily by ``wix``/``api``).
- ``wix``: a client that signs each request like Wix (RS256 JWT body).
- ``api``: a client that sends plain JSON with the API key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.dialects import mysql

from connector import create_app
from connector.db import get_replicas

BACKENDS = ("sqlite", "postgresql", "mariadb")
SERVER_URLS = {
    "postgresql": os.environ.get(
        "TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

APP_ID = "1b4f9c2e-test-app"
API_KEY = "test-api-key-0123456789"
SECRET_KEY = "test-secret-key"

#: Column types for test tables that keep what the connector promises on every
#: backend (MariaDB's DATETIME defaults to whole seconds).
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TIME = sa.Time().with_variant(mysql.TIME(fsp=6), "mysql", "mariadb")
TEXT_ID = sa.String(64)


# --- keys -----------------------------------------------------------------


@pytest.fixture(scope="session")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def public_pem(rsa_key):
    return (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(private_key, request: dict, *, metadata=None, algorithm="RS256", **claims) -> str:
    """A Wix-style JWT body for ``request``; ``claims`` override the defaults."""
    now = int(time.time())
    payload = {
        "iss": "wix.com",
        "aud": APP_ID,
        "iat": now,
        "exp": now + 300,
        "data": {
            "request": request,
            "metadata": metadata
            or {
                "requestId": str(uuid.uuid4()),
                "instanceId": "instance-1",
                "identity": {"identityType": "WIX_USER", "wixUserId": "user-1"},
            },
        },
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, private_key, algorithm=algorithm)


# --- databases ------------------------------------------------------------


def _unreachable(backend, url, exc):
    message = f"{backend} test server at {url} is unreachable: {exc}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(f"SKIPPED LOUDLY: {message}")


@pytest.fixture(scope="session")
def server_databases(tmp_path_factory):
    """One scratch database per server for the whole session (name -> url or error)."""
    # Unique per process: concurrent test runs must not drop each other's database.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"connector_test_{worker}_{os.getpid()}"
    made = {}
    for backend, url in SERVER_URLS.items():
        base = sa.engine.make_url(url)
        try:
            admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                if backend == "postgresql":
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                else:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
                    conn.exec_driver_sql(
                        f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
                    )
            admin.dispose()
            made[backend] = base.set(database=name)
        except Exception as exc:  # noqa: BLE001 - reported per test below
            made[backend] = exc
    yield made
    for backend, url in made.items():
        if isinstance(url, Exception):
            continue
        admin = sa.create_engine(
            url.set(database=sa.engine.make_url(SERVER_URLS[backend]).database),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


def _empty(backend, url):
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        else:
            conn.exec_driver_sql(f"DROP DATABASE `{url.database}`")
            conn.exec_driver_sql(
                f"CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def database_url(backend, server_databases, tmp_path):
    """URL of an empty database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url = server_databases[backend]
    if isinstance(url, Exception):
        _unreachable(backend, SERVER_URLS[backend], url)
    try:
        _empty(backend, url)
    except sa.exc.OperationalError as exc:
        _unreachable(backend, SERVER_URLS[backend], exc)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def engine(database_url):
    """An engine on the test database, for setting up tables and checking rows."""
    eng = sa.create_engine(database_url)
    yield eng
    eng.dispose()


def create_table(engine, name, *columns, rows=(), **kw):
    """Create table ``name`` with ``columns`` and insert ``rows``; returns the Table."""
    table = sa.Table(name, sa.MetaData(), *columns, **kw)
    table.create(engine)
    if rows:
        with engine.begin() as conn:
            conn.execute(table.insert(), list(rows))
    return table


# --- the app and its clients ----------------------------------------------


@pytest.fixture
def app_config(database_url, public_pem):
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "WIX_APP_ID": APP_ID,
        "WIX_PUBLIC_KEY": public_pem,
        "CONNECTOR_API_KEY": API_KEY,
        "CONNECTOR_SECRET_KEY": SECRET_KEY,
    }


@pytest.fixture
def app(app_config):
    application = create_app(app_config)
    yield application
    for engine in [application.extensions["connector.engine"], *get_replicas(application)]:
        engine.dispose()


class Client:
    """Posts requests to the connector and returns ``(status, json)``.

    ``post(path, request)`` sends ``request`` as Wix would (signed) or as a
    direct caller (API key), depending on how the client was made.
    """

    def __init__(self, app, private_key=None):
        self.app = app
        self.http = app.test_client()
        self.private_key = private_key

    def post(self, path, request, *, metadata=None):
        if self.private_key is not None:
            body = sign(self.private_key, request, metadata=metadata)
            response = self.http.post(path, data=body, content_type="text/plain")
        else:
            response = self.http.post(
                path,
                data=json.dumps(request),
                content_type="application/json",
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
        return response.status_code, response.get_json()

    def query(self, collection_id, query=None, **extra):
        """POST /v3/items/query; returns (status, json)."""
        return self.post(
            "/v3/items/query", {"collectionId": collection_id, "query": query or {}, **extra}
        )

    def items(self, collection_id, query=None, **extra):
        """The items of a successful query (asserts 200)."""
        status, body = self.query(collection_id, query, **extra)
        assert status == 200, body
        return body["items"]

    def ids(self, collection_id, filter_=None, **query):
        """The ``_id``s a filter selects, in the query's order (asserts 200)."""
        q = {"filter": filter_ or {}, "paging": {"limit": 1000}, **query}
        return [item["_id"] for item in self.items(collection_id, q)]


@pytest.fixture
def wix(app, rsa_key):
    return Client(app, rsa_key)


@pytest.fixture
def api(app):
    return Client(app)


def iso(value: dt.datetime) -> dict:
    """The wire form of a UTC datetime: ``{"$date": "...Z"}`` with milliseconds."""
    return {"$date": value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"}
