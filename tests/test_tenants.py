"""Multi-site isolation (``CONNECTOR_TENANTS``), on every backend.

Two sites, each mapped to a database of its own that holds a ``people`` table
with different rows: each site reads and writes only its own, a cursor of one
is refused by the other, and an unmapped site is refused before anything runs.
"""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from conftest import API_KEY, SERVER_URLS, TEXT_ID, Client, create_table

from connector import create_app


def people():
    return sa.Column("_id", TEXT_ID, primary_key=True), sa.Column("name", sa.String(50))


@pytest.fixture
def second_database(backend, database_url, tmp_path):
    """The URL of another empty database on the same server."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'site-2.sqlite3'}"
        return
    url = sa.engine.make_url(database_url)
    name = f"{url.database}_site2"
    admin = sa.create_engine(sa.engine.make_url(SERVER_URLS[backend]), isolation_level="AUTOCOMMIT")
    drop = (
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        if backend == "postgresql"
        else f"DROP DATABASE IF EXISTS `{name}`"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(drop)
        conn.exec_driver_sql(
            f'CREATE DATABASE "{name}"'
            if backend == "postgresql"
            else f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(drop)
    admin.dispose()


@pytest.fixture
def sites(app_config, engine, second_database):
    """An app serving instance-1 from the test database and instance-2 from another."""
    create_table(engine, "people", *people(), rows=[{"_id": "a", "name": "Ada of site 1"}])
    other = sa.create_engine(second_database)
    create_table(other, "people", *people(), rows=[{"_id": "b", "name": "Bob of site 2"}])
    mapping = {"instance-1": app_config["DATABASE_URL"], "instance-2": second_database}
    application = create_app({**app_config, "CONNECTOR_TENANTS": json.dumps(mapping)})
    yield application, other
    application.extensions["connector.tenants"].dispose()
    application.extensions["connector.engine"].dispose()
    other.dispose()


def site(instance_id):
    return {
        "requestId": str(uuid.uuid4()),
        "instanceId": instance_id,
        "identity": {"identityType": "WIX_USER", "wixUserId": "u"},
    }


def test_each_site_reads_and_writes_only_its_own_database(sites, rsa_key, engine):
    application, other = sites
    wix = Client(application, rsa_key)
    query = {"collectionId": "people", "query": {}}
    assert wix.post("/v3/items/query", query, metadata=site("instance-1"))[1]["items"] == [
        {"_id": "a", "name": "Ada of site 1"}
    ]
    assert wix.post("/v3/items/query", query, metadata=site("instance-2"))[1]["items"] == [
        {"_id": "b", "name": "Bob of site 2"}
    ]
    status, body = wix.post(
        "/v3/items/insert",
        {"collectionId": "people", "items": [{"_id": "c", "name": "Cy"}]},
        metadata=site("instance-2"),
    )
    assert status == 200, body
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT _id FROM people ORDER BY _id").scalars().all() == ["a"]
    with other.connect() as conn:
        assert conn.exec_driver_sql("SELECT _id FROM people ORDER BY _id").scalars().all() == [
            "b",
            "c",
        ]


def test_a_cursor_of_one_site_is_refused_by_another(sites, rsa_key):
    application, _ = sites
    wix = Client(application, rsa_key)
    first = {"collectionId": "people", "query": {"cursorPaging": {"limit": 1}}}
    wix.post(
        "/v3/items/insert",
        {"collectionId": "people", "items": [{"_id": "z"}]},
        metadata=site("instance-2"),
    )
    status, body = wix.post("/v3/items/query", first, metadata=site("instance-2"))
    cursor = body["pagingMetadata"]["cursors"]["next"]
    assert cursor
    follow = {"collectionId": "people", "query": {"cursorPaging": {"limit": 1, "cursor": cursor}}}
    status, body = wix.post("/v3/items/query", follow, metadata=site("instance-2"))
    assert status == 200 and body["items"] == [{"_id": "z", "name": None}], body
    status, body = wix.post("/v3/items/query", follow, metadata=site("instance-1"))
    assert status == 400 and body["errorCode"] == "BAD_REQUEST", body


@pytest.mark.parametrize("metadata", [site("instance-3"), {"requestId": "r"}])
def test_an_unmapped_site_is_refused(sites, rsa_key, metadata):
    application, _ = sites
    wix = Client(application, rsa_key)
    status, body = wix.post(
        "/v3/items/insert",
        {"collectionId": "people", "items": [{"_id": "x"}]},
        metadata=metadata,
    )
    assert status == 403, body
    assert body["errorCode"] == "PERMISSION_DENIED"
    assert "CONNECTOR_TENANTS" in body["errorMessage"]


def test_a_direct_caller_names_its_site_in_a_header(sites):
    application, _ = sites
    http = application.test_client()

    def query(headers):
        response = http.post(
            "/v3/items/query",
            data=json.dumps({"collectionId": "people", "query": {}}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {API_KEY}", **headers},
        )
        return response.status_code, response.get_json()

    status, body = query({"X-Wix-Instance-Id": "instance-2"})
    assert status == 200 and [i["_id"] for i in body["items"]] == ["b"], body
    status, body = query({})
    assert status == 403 and body["errorCode"] == "PERMISSION_DENIED", body


@pytest.mark.parametrize("value", ["[1, 2]", "not json", '{"i": 3}'])
def test_a_bad_tenants_setting_stops_the_app_at_start(app_config, value):
    with pytest.raises(ValueError, match="CONNECTOR_TENANTS"):
        create_app({**app_config, "CONNECTOR_TENANTS": value})
