"""The log never holds secrets or item data, on every backend.

A run of accepted and refused calls (signed and with the API key, bad tokens,
values the database refuses, an unexpected failure, a database that is down)
is logged at DEBUG; the log must not contain the tokens, the API key, the
database password or any item value, only ids and error classes.
"""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa
from conftest import API_KEY, TEXT_ID, Client, create_table, sign

from connector import create_app, references

PASSWORD = "pw-Zq8x-never-logged"
SECRET_VALUE = "item-value-7Hk2-never-logged"  # sent in items; the log may not show it


@pytest.fixture
def url_with_password(backend, database_url, engine):
    """The test database's URL with a password in it (PostgreSQL's trust auth
    ignores it; MariaDB gets a user of its own)."""
    if backend == "sqlite":
        yield database_url
        return
    url = sa.engine.make_url(database_url)
    if backend == "mariadb":
        user = f"logs_{abs(hash(url.database)) % 10**8}"  # one per test run (xdist workers)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'%%'")
            conn.exec_driver_sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY '{PASSWORD}'")
            conn.exec_driver_sql(f"GRANT ALL ON `{url.database}`.* TO '{user}'@'%%'")
        url = url.set(username=user)
    yield url.set(password=PASSWORD).render_as_string(hide_password=False)
    if backend == "mariadb":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'%%'")


@pytest.fixture
def logged_app(app_config, url_with_password, engine):
    create_table(
        engine,
        "codes",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("code", sa.String(40), unique=True),
        sa.Column("short", sa.String(5)),
        rows=[{"_id": "taken", "code": SECRET_VALUE}],
    )
    application = create_app({**app_config, "DATABASE_URL": url_with_password})
    yield application
    application.extensions["connector.engine"].dispose()


def test_the_log_holds_no_token_key_password_or_item_value(
    logged_app, rsa_key, public_pem, caplog, monkeypatch
):
    wix, api = Client(logged_app, rsa_key), Client(logged_app)
    tokens = []
    real_sign = sign

    def remembering(*args, **kwargs):
        tokens.append(real_sign(*args, **kwargs))
        return tokens[-1]

    monkeypatch.setattr("conftest.sign", remembering)
    http = logged_app.test_client()
    with caplog.at_level(logging.DEBUG):
        wix.query("codes", {"filter": {"code": SECRET_VALUE}})
        # Refused by the database: a duplicate unique value, a value too long.
        for item in ({"_id": "dup", "code": SECRET_VALUE}, {"_id": "long", "short": SECRET_VALUE}):
            status, body = api.post("/v3/items/insert", {"collectionId": "codes", "items": [item]})
            assert status == 200 and "error" in body["results"][0], body
        status, _ = api.post(
            "/v3/items/update",
            {"collectionId": "codes", "items": [{"_id": "taken", "short": SECRET_VALUE}]},
        )
        # Refused tokens and keys.
        http.post("/v3/items/query", data=tokens[0] + "x", content_type="text/plain")
        http.post(
            "/v3/items/query",
            data=json.dumps({"collectionId": "codes"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {API_KEY}-wrong"},
        )

        # An unexpected failure whose message quotes the request.
        def broken(*args, **kwargs):
            raise RuntimeError(f"failed on {SECRET_VALUE}")

        monkeypatch.setattr(references, "query", broken)
        status, body = api.query("codes", {"filter": {"code": SECRET_VALUE}})
        assert status == 500, body
    text = caplog.text
    assert text, "nothing was logged: the check below would prove nothing"
    assert "RuntimeError" in text and "database refused an item" in text
    for secret in [*tokens, API_KEY, PASSWORD, SECRET_VALUE, public_pem.splitlines()[1]]:
        assert secret not in text, f"the log shows {secret[:20]}...:\n{text}"


def test_a_database_that_is_down_is_logged_without_its_password(app_config, caplog):
    down = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/none"
    with caplog.at_level(logging.DEBUG), pytest.raises(sa.exc.OperationalError) as failure:
        create_app({**app_config, "DATABASE_URL": down})
    assert PASSWORD not in caplog.text
    assert PASSWORD not in str(failure.value)
