"""Who may sync: the admin key, sync users by HTTP Basic or session cookie, and
per-collection grants, on every backend; and the ``connector sync-user`` CLI."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import API_KEY

from connector.cli import main as cli
from connector.sync import users
from connector.sync.tables import sync_sessions, sync_users


def basic(name, password):
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def http(app):
    client = app.test_client()
    assert client.put("/sync/notes/", headers=ADMIN).status_code == 201
    assert client.put("/sync/notes/n1", json={"title": "one"}, headers=ADMIN).status_code == 201
    assert client.put("/sync/other/", headers=ADMIN).status_code == 201
    engine = app.extensions["connector.engine"]
    with engine.begin() as conn:
        users.set_user(conn, name="writer", password="w-secret")
        users.grant(conn, name="writer", collection_id="notes", access="write")
        users.set_user(conn, name="reader", password="r-secret")
        users.grant(conn, name="reader", collection_id="notes", access="read")
    return client


def test_without_credentials_is_401_with_a_challenge(http):
    response = http.get("/sync/notes/n1")
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized", "reason": "Login required."}
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        basic("writer", "wrong"),
        basic("nobody", "w-secret"),
        {"Authorization": "Basic not-base64!"},
        {"Cookie": f"{users.COOKIE}=forged"},
    ],
)
def test_bad_credentials_are_401(http, headers):
    response = http.get("/sync/notes/n1", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_the_admin_key_works_as_basic_password_with_any_name(http):
    response = http.get("/sync/notes/n1", headers=basic("anyone", API_KEY))
    assert response.status_code == 200
    assert response.get_json()["title"] == "one"


def test_the_root_is_public(http):
    response = http.get("/sync/")
    assert response.status_code == 200
    assert response.get_json()["couchdb"] == "Welcome"


def test_a_writer_reads_and_writes_its_collection_only(http):
    headers = basic("writer", "w-secret")
    created = http.put("/sync/notes/n2", json={"title": "two"}, headers=headers)
    assert created.status_code == 201
    assert http.get("/sync/notes/n2", headers=headers).get_json()["title"] == "two"
    refused = http.get("/sync/other/", headers=headers)
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "forbidden",
        "reason": "You may not read the database 'other'.",
    }
    assert http.put("/sync/other/x", json={}, headers=headers).status_code == 403


def test_a_reader_reads_but_may_not_write(http):
    headers = basic("reader", "r-secret")
    assert http.get("/sync/notes/n1", headers=headers).status_code == 200
    changes = http.get("/sync/notes/_changes", headers=headers).get_json()
    assert [r["id"] for r in changes["results"]] == ["n1"]
    # POSTs that only read are reads.
    bulk_get = http.post(
        "/sync/notes/_bulk_get",
        json={"docs": [{"id": "n1"}]},
        headers={**headers, "Accept": "application/json"},
    )
    assert bulk_get.status_code == 200
    assert (
        http.post("/sync/notes/_revs_diff", json={"n1": ["1-x"]}, headers=headers).status_code
        == 200
    )
    # Checkpoints are allowed: replicators write them to the source as well.
    assert http.put("/sync/notes/_local/cp", json={"seq": 1}, headers=headers).status_code == 201
    refused = http.put("/sync/notes/n9", json={"title": "no"}, headers=headers)
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "forbidden",
        "reason": "You may not write the database 'notes'.",
    }
    bulk = http.post("/sync/notes/_bulk_docs", json={"docs": [{"_id": "n9"}]}, headers=headers)
    assert bulk.status_code == 403
    assert http.get("/sync/notes/n9", headers=ADMIN).status_code == 404  # nothing was written


def test_only_the_admin_creates_and_deletes_databases(http):
    headers = basic("writer", "w-secret")
    assert http.put("/sync/fresh/", headers=headers).status_code == 403
    assert http.delete("/sync/notes/", headers=headers).status_code == 403
    assert http.get("/sync/notes/", headers=ADMIN).status_code == 200


def test_a_session_cookie_logs_in_and_out(http):
    opened = http.post("/sync/notes/_session", json={"name": "reader", "password": "r-secret"})
    assert opened.status_code == 200
    assert opened.get_json() == {
        "authentication_handlers": ["default", "cookie"],
        "ok": True,
        "userCtx": {"channels": {}, "name": "reader"},
    }
    cookie = opened.headers["Set-Cookie"]
    assert re.match(rf"{users.COOKIE}=[\w-]+;", cookie)
    assert "HttpOnly" in cookie
    assert "Path=/sync/notes/" in cookie
    # The test client keeps the cookie: it authenticates the next calls.
    assert http.get("/sync/notes/n1").status_code == 200
    assert http.get("/sync/notes/_session").get_json()["userCtx"]["name"] == "reader"
    assert http.delete("/sync/notes/_session").get_json() == {"ok": True}
    assert http.get("/sync/notes/n1").status_code == 401
    assert http.get("/sync/notes/_session").get_json()["userCtx"]["name"] is None


def test_a_wrong_password_opens_no_session(http):
    response = http.post("/sync/notes/_session", json={"name": "reader", "password": "nope"})
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    bad = http.post("/sync/notes/_session", json={"name": "reader"})
    assert bad.status_code == 400


def test_an_expired_session_is_refused(http, app):
    http.post("/sync/notes/_session", json={"name": "reader", "password": "r-secret"})
    engine = app.extensions["connector.engine"]
    with engine.begin() as conn:
        conn.execute(sync_sessions.update().values(expires_at=dt.datetime(2000, 1, 1)))
        assert conn.execute(sa.select(sa.func.count()).select_from(sync_sessions)).scalar() == 1
    assert http.get("/sync/notes/n1").status_code == 401


def test_revoking_and_removing_take_effect(http, app):
    engine = app.extensions["connector.engine"]
    headers = basic("reader", "r-secret")
    assert http.get("/sync/notes/n1", headers=headers).status_code == 200
    with engine.begin() as conn:
        users.revoke(conn, name="reader", collection_id="notes")
    assert http.get("/sync/notes/n1", headers=headers).status_code == 403
    with engine.begin() as conn:
        users.remove_user(conn, name="reader")
    assert http.get("/sync/notes/n1", headers=headers).status_code == 401


def test_passwords_are_stored_hashed(app):
    engine = app.extensions["connector.engine"]
    with engine.begin() as conn:
        users.set_user(conn, name="ann", password="plain-text-pw")
        stored = conn.execute(sync_users.select()).one()
    assert "plain-text-pw" not in stored.password_hash
    assert stored.password_hash.startswith("scrypt:")


def test_the_cli_manages_users_and_grants(app, database_url):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}

    def run(*args):
        return runner.invoke(cli, ["sync-user", *args], env=env, catch_exceptions=False)

    assert run("set", "cli-user", "--password", "pw").exit_code == 0
    assert run("grant", "cli-user", "notes", "write").output == "'cli-user' may write 'notes'.\n"
    assert run("grant", "cli-user", "cities", "read").exit_code == 0
    assert run("list").output == "cli-user\tcities:read, notes:write\n"
    assert run("revoke", "cli-user", "cities").exit_code == 0
    assert run("list").output == "cli-user\tnotes:write\n"
    unknown = run("grant", "ghost", "notes", "read")
    assert unknown.exit_code == 1
    assert "No sync user 'ghost'" in unknown.output
    assert run("grant", "cli-user", "notes", "admin").exit_code == 2  # not a choice
    assert run("remove", "cli-user").exit_code == 0
    assert run("list").output == ""
    client = app.test_client()
    assert client.put("/sync/notes/", headers=ADMIN).status_code == 201
    assert client.get("/sync/notes/", headers=basic("cli-user", "pw")).status_code == 401


def test_a_session_lasts_24_hours_from_its_last_use(http, app):
    opened = http.post("/sync/notes/_session", json={"name": "reader", "password": "r-secret"})
    expires = dt.datetime.strptime(
        re.search(r"Expires=([^;]+)", opened.headers["Set-Cookie"]).group(1),
        "%a, %d %b %Y %H:%M:%S GMT",
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert dt.timedelta(hours=23, minutes=59) < expires - now <= dt.timedelta(hours=24)
    engine = app.extensions["connector.engine"]
    with engine.begin() as conn:  # nearly idle for a day: a minute left
        conn.execute(sync_sessions.update().values(expires_at=now + dt.timedelta(minutes=1)))
    assert http.get("/sync/notes/n1").status_code == 200
    with engine.connect() as conn:
        renewed = conn.execute(sa.select(sync_sessions.c.expires_at)).scalar_one()
    assert renewed - now > dt.timedelta(hours=23, minutes=59)
