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
from .sync import users


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


# --- sync users -----------------------------------------------------------------------


def _engine(database_url):
    url = database_url or from_env().get("DATABASE_URL")
    if not url:
        raise click.UsageError("Give --database-url or set DATABASE_URL.")
    engine = create_engine(normalize_database_url(url), schema=from_env().get("DATABASE_SCHEMA"))
    migrate.upgrade(engine)
    return engine


_database_option = click.option("--database-url", default=None, help="Default: $DATABASE_URL.")


@main.group("sync-user")
def sync_user_group():
    """Users of the sync API and their per-collection grants."""


def _users_call(database_url, fn, **kw):
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            return fn(conn, **kw)
    except users.UnknownUser as exc:
        raise click.ClickException(f"No sync user {exc.args[0]!r}.") from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()


@sync_user_group.command("set")
@click.argument("name")
@click.password_option(help="The password (asked for when not given).")
@_database_option
def sync_user_set(name, password, database_url):
    """Create a sync user, or set a user's password."""
    _users_call(database_url, users.set_user, name=name, password=password)
    click.echo(f"Sync user {name!r} is set.")


@sync_user_group.command("grant")
@click.argument("name")
@click.argument("collection")
@click.argument("access", type=click.Choice([users.READ, users.WRITE]))
@_database_option
def sync_user_grant(name, collection, access, database_url):
    """Let NAME read, or read and write, COLLECTION."""
    _users_call(database_url, users.grant, name=name, collection_id=collection, access=access)
    click.echo(f"{name!r} may {access} {collection!r}.")


@sync_user_group.command("revoke")
@click.argument("name")
@click.argument("collection")
@_database_option
def sync_user_revoke(name, collection, database_url):
    """Take NAME's grant on COLLECTION away."""
    _users_call(database_url, users.revoke, name=name, collection_id=collection)
    click.echo(f"{name!r} has no grant on {collection!r}.")


@sync_user_group.command("remove")
@click.argument("name")
@_database_option
def sync_user_remove(name, database_url):
    """Remove a sync user, its grants and its sessions."""
    _users_call(database_url, users.remove_user, name=name)
    click.echo(f"Sync user {name!r} is removed.")


@sync_user_group.command("list")
@_database_option
def sync_user_list(database_url):
    """The sync users and their grants."""
    for name, grants in _users_call(database_url, users.list_users):
        granted = ", ".join(f"{c}:{a}" for c, a in sorted(grants.items())) or "no grants"
        click.echo(f"{name}\t{granted}")
