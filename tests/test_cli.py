"""The ``connector`` command: the demo database and the metadata migrations."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from connector import create_app
from connector.cli import main
from connector.metadata import VERSION_TABLE
from connector.migrate import alembic_config


def test_demo_creates_the_database_once_and_serves_it(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--no-serve", "--directory", str(tmp_path)])
    assert first.exit_code == 0, first.output
    api_key = (tmp_path / "demo-api-key").read_text().strip()
    assert f"API key: {api_key}" in first.output
    assert "(created)" in first.output
    assert "curl -s -X POST http://127.0.0.1:8080/v3/items/query" in first.output

    again = runner.invoke(main, ["demo", "--no-serve", "--directory", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert "(kept)" in again.output
    assert f"API key: {api_key}" in again.output

    # The printed curl's body works against the demo database with that key.
    body = first.output.split("-d '", 1)[1].split("'\n", 1)[0]
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "CONNECTOR_API_KEY": api_key}
    )
    response = app.test_client().post(
        "/v3/items/query",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    # The employment agency's flow: an employer's positions, and each job's employer.
    positions = (
        app.test_client()
        .post(
            "/v3/items/query-referenced",
            json={
                "collectionId": "employers",
                "referringFieldKey": "positions",
                "referringItemIds": ["hellsKitchen"],
                "fieldsToReturn": ["jobTitle"],
            },
            headers={"Authorization": f"Bearer {api_key}"},
        )
        .get_json()
    )
    jobs = (
        app.test_client()
        .post(
            "/v3/items/query",
            json={
                "collectionId": "northUtahJobs",
                "query": {"fields": ["employer"]},
                "includeReferencedItems": [{"fieldKey": "employer"}],
            },
            headers={"Authorization": f"Bearer {api_key}"},
        )
        .get_json()
    )
    app.extensions["connector.engine"].dispose()
    assert sorted(i["referencedItem"]["jobTitle"] for i in positions["items"]) == [
        "kitchenStaff",
        "shiftManager",
    ]
    assert {j["employer"]["name"] for j in jobs["items"]} == {
        "Hell's Kitchen",
        "Joe's Magic Burgers",
    }
    assert response.status_code == 200
    assert [item["name"] for item in response.get_json()["items"]] == [
        "Toronto",
        "Montréal",
        "Ottawa",
    ]
    assert json.loads(body)["collectionId"] == "cities"


def test_db_upgrade_creates_the_metadata_tables(database_url):
    result = CliRunner().invoke(main, ["db", "upgrade", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(database_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            version = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    finally:
        engine.dispose()
    assert {
        "_connector_fields",
        "_connector_collections",
        "_connector_settings",
        VERSION_TABLE,
    } <= names
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_db_upgrade_needs_a_database(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.output
