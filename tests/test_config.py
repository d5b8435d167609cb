"""Settings: database URL normalisation, reading the environment, defaults."""

from __future__ import annotations

import contextlib
import os
import sqlite3

import flask
import pytest
import sqlalchemy as sa

from connector import create_app
from connector.config import from_env, normalize_database_url

SETTINGS = (
    "DATABASE_URL",
    "WIX_APP_ID",
    "WIX_PUBLIC_KEY",
    "CONNECTOR_API_KEY",
    "CONNECTOR_SECRET_KEY",
    "CONNECTOR_MAX_BODY",
    "CONNECTOR_SCHEMA_TTL",
    "CONNECTOR_JWT_LEEWAY",
)


@pytest.fixture
def clean_env(monkeypatch):
    """No connector setting leaks in from the environment running the tests."""
    for key in SETTINGS:
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


# --- normalize_database_url -------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        (
            "postgres://u:p@h:5432/db?sslmode=require",
            "postgresql+psycopg://u:p@h:5432/db?sslmode=require",
        ),
        ("postgres://u:p%40ss@h/db", "postgresql+psycopg://u:p%40ss@h/db"),
        ("mysql://u@h/db", "mysql+pymysql://u@h/db?charset=utf8mb4"),
        ("postgresql+psycopg://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("mysql+pymysql://u@h/db?charset=latin1", "mysql+pymysql://u@h/db?charset=latin1"),
        ("mysql://u@h/db?charset=latin1", "mysql+pymysql://u@h/db?charset=latin1"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("sqlite:////var/data/x.db", "sqlite:////var/data/x.db"),
    ],
    ids=[
        "heroku-postgres",
        "bare-postgresql",
        "postgres-keeps-query",
        "postgres-keeps-escaped-password",
        "bare-mysql-gets-utf8mb4",
        "named-driver-kept",
        "mysql-charset-kept",
        "bare-mysql-charset-kept",
        "sqlite-relative",
        "sqlite-absolute",
    ],
)
def test_normalize_database_url(given, expected):
    assert normalize_database_url(given) == expected


def test_normalized_urls_load_the_shipped_drivers():
    """The rewritten URLs name drivers that are installed (psycopg 3, PyMySQL)."""
    pg = sa.engine.make_url(normalize_database_url("postgres://u:p@h:5432/db"))
    my = sa.engine.make_url(normalize_database_url("mysql://u@h/db"))
    assert pg.get_dialect().driver == "psycopg"
    assert my.get_dialect().driver == "pymysql"
    assert my.query == {"charset": "utf8mb4"}


# --- from_env ---------------------------------------------------------------


def test_from_env_returns_only_the_settings_that_are_set():
    environ = {
        "DATABASE_URL": "sqlite:///x.db",
        "WIX_APP_ID": "app-1",
        "CONNECTOR_API_KEY": "secret",
        "CONNECTOR_MAX_BODY": "2048",
        "PATH": "/usr/bin",
        "UNRELATED": "x",
    }
    assert from_env(environ) == {
        "DATABASE_URL": "sqlite:///x.db",
        "WIX_APP_ID": "app-1",
        "CONNECTOR_API_KEY": "secret",
        "CONNECTOR_MAX_BODY": 2048,
    }


def test_from_env_parses_max_body_as_int():
    value = from_env({"CONNECTOR_MAX_BODY": "1000"})["CONNECTOR_MAX_BODY"]
    assert value == 1000
    assert type(value) is int


def test_from_env_of_nothing_is_empty():
    assert from_env({}) == {}
    assert from_env({"HOME": "/root"}) == {}


def test_from_env_treats_empty_values_as_unset():
    assert from_env({"WIX_PUBLIC_KEY": "", "CONNECTOR_API_KEY": "k"}) == {"CONNECTOR_API_KEY": "k"}


def test_from_env_keeps_the_pem_text_as_given():
    pem = "-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END PUBLIC KEY-----"
    assert from_env({"WIX_PUBLIC_KEY": pem}) == {"WIX_PUBLIC_KEY": pem}


def test_from_env_reads_os_environ_by_default(clean_env):
    clean_env.setenv("CONNECTOR_API_KEY", "from-the-env")
    clean_env.setenv("CONNECTOR_MAX_BODY", "4096")
    assert from_env() == {"CONNECTOR_API_KEY": "from-the-env", "CONNECTOR_MAX_BODY": 4096}


# --- create_app -------------------------------------------------------------


@pytest.fixture
def instance_dir(tmp_path, monkeypatch):
    """Flask's default instance folder, moved under tmp_path for this test."""
    folder = tmp_path / "instance"
    monkeypatch.setattr(flask.Flask, "auto_find_instance_path", lambda self: str(folder))
    return folder


def test_default_database_is_a_sqlite_file_in_the_instance_folder(clean_env, instance_dir):
    app = create_app({"TESTING": True, "CONNECTOR_API_KEY": "k"})
    try:
        url = app.config["DATABASE_URL"]
        assert url.startswith("sqlite:///")
        assert app.instance_path in url
        response = app.test_client().post(
            "/v3/items/query",
            json={"collectionId": "nope", "query": {}},
            headers={"Authorization": "Bearer k"},
        )
        assert response.status_code == 404, response.get_json(silent=True)
    finally:
        app.extensions["connector.engine"].dispose()
    path = os.path.abspath(sa.engine.make_url(url).database)
    assert os.path.isfile(path)
    assert os.path.commonpath([path, os.path.abspath(app.instance_path)]) == os.path.abspath(
        app.instance_path
    )
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_url_is_read_from_the_environment(clean_env, tmp_path):
    url = f"sqlite:///{tmp_path / 'from-env.sqlite3'}"
    clean_env.setenv("DATABASE_URL", url)
    app = create_app({"TESTING": True, "CONNECTOR_API_KEY": "k"})
    try:
        assert app.config["DATABASE_URL"] == url
    finally:
        app.extensions["connector.engine"].dispose()


def test_explicit_config_wins_over_the_environment(clean_env, tmp_path):
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'from-env.sqlite3'}")
    url = f"sqlite:///{tmp_path / 'explicit.sqlite3'}"
    app = create_app({"TESTING": True, "CONNECTOR_API_KEY": "k", "DATABASE_URL": url})
    try:
        assert app.config["DATABASE_URL"] == url
    finally:
        app.extensions["connector.engine"].dispose()
