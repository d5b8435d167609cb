"""/healthz, /readyz, forwarded headers and pool settings, on every backend."""

from __future__ import annotations

import json

import pytest
from flask import request

from connector import create_app

UNREACHABLE = "postgresql+psycopg://postgres:pw@127.0.0.1:1/none"


def test_healthz_needs_no_token_and_no_database(app):
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_makes_a_round_trip_to_the_database(app):
    response = app.test_client().get("/readyz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ready", "databases": 1})


def test_readyz_is_503_when_a_configured_database_is_down(app_config, monkeypatch):
    monkeypatch.setattr("connector.db.CONNECT_TIMEOUT", 1)
    tenants = json.dumps({"site-up": app_config["DATABASE_URL"], "site-down": UNREACHABLE})
    application = create_app({**app_config, "CONNECTOR_TENANTS": tenants})
    try:
        response = application.test_client().get("/readyz")
    finally:
        application.extensions["connector.tenants"].dispose()
        application.extensions["connector.engine"].dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body == {"status": "unavailable", "databases": 3, "unavailable": 1}
    assert "pw" not in response.get_data(as_text=True)  # nothing of the configuration


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(
    "hops, remote, scheme", [(0, "127.0.0.1", "http"), (1, "203.0.113.9", "https")]
)
def test_forwarded_headers_are_trusted_only_with_proxy_hops(app_config, hops, remote, scheme):
    application = create_app({**app_config, "CONNECTOR_PROXY_HOPS": hops})
    seen = {}

    @application.before_request
    def look():
        seen.update(remote=request.remote_addr, scheme=request.scheme)

    try:
        application.test_client().get("/healthz", headers=FORWARDED)
    finally:
        application.extensions["connector.engine"].dispose()
    assert seen == {"remote": remote, "scheme": scheme}


def test_pool_size_and_overflow_are_settings(app_config, backend):
    application = create_app({**app_config, "DATABASE_POOL_SIZE": 3, "DATABASE_MAX_OVERFLOW": 1})
    engine = application.extensions["connector.engine"]
    try:
        if backend != "sqlite":
            assert (engine.pool.size(), engine.pool._max_overflow) == (3, 1)
        assert application.test_client().get("/readyz").status_code == 200
    finally:
        engine.dispose()
