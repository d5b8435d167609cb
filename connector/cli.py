"""The ``connector`` command: ``connector demo`` and ``connector db upgrade``."""

from __future__ import annotations

import json
import secrets
import shlex
from pathlib import Path

import click

from . import create_app, demo, migrate
from .config import from_env, normalize_database_url
from .db import create_engine


@click.group()
def main():
    """The connector: a relational database served as a Wix external database."""


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--directory",
    default="instance",
    show_default=True,
    help="Where the demo database and its API key are kept.",
)
@click.option("--no-serve", is_flag=True, help="Create the demo database and stop.")
def demo_command(host, port, directory, no_serve):
    """Create (once) a SQLite demo database with sample data and serve it."""
    folder = Path(directory).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "demo-api-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(24))
        key_file.chmod(0o600)
    api_key = key_file.read_text().strip()
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "CONNECTOR_API_KEY": api_key})
    created = demo.seed(app, api_key)
    base = f"http://{host}:{port}"
    body = json.dumps(
        {
            "collectionId": "cities",
            "query": {
                "filter": {"country": "CA"},
                "sort": [{"fieldName": "population", "order": "DESC"}],
            },
        }
    )
    click.echo(f"Demo database: {folder / 'demo.sqlite3'} ({'created' if created else 'kept'})")
    click.echo("Collections: SpringfieldProperties, cities, employers, northUtahJobs")
    click.echo(f"API key: {api_key}")
    click.echo("Try:")
    click.echo(
        f"  curl -s -X POST {base}/v3/items/query \\\n"
        f"    -H 'Authorization: Bearer {api_key}' \\\n"
        f"    -H 'Content-Type: application/json' \\\n"
        f"    -d {shlex.quote(body)}"
    )
    if not no_serve:
        app.run(host=host, port=port, threaded=True, load_dotenv=False)


@main.group("db")
def db_group():
    """The connector's metadata tables."""


@db_group.command("upgrade")
@click.option("--database-url", default=None, help="Default: $DATABASE_URL.")
def db_upgrade(database_url):
    """Create or upgrade the connector's metadata tables (Alembic migrations)."""
    url = database_url or from_env().get("DATABASE_URL")
    if not url:
        raise click.UsageError("Give --database-url or set DATABASE_URL.")
    engine = create_engine(normalize_database_url(url), schema=from_env().get("DATABASE_SCHEMA"))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    click.echo("The connector's metadata tables are up to date.")
