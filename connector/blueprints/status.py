"""GET /: a small status page for a person who opens the baseUri in a browser.

It tells what a person setting the connector up needs (is it running, on what
kind of database, how many collections, is the Wix key in place) and nothing
secret: no URL, host, key or table name.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template_string

from .. import __version__
from ..db import get_engine

bp = Blueprint("status", __name__)

_BACKENDS = {
    "postgresql": "PostgreSQL",
    "mysql": "MySQL / MariaDB",
    "mariadb": "MySQL / MariaDB",
    "sqlite": "SQLite",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wix connector</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto;
         padding: 0 1rem; }
  dt { font-weight: 600; } dd { margin: 0 0 .75rem; }
  .ok { color: #1a7f37; } .bad { color: #cf222e; }
</style>
</head>
<body>
<h1>Wix connector</h1>
<p>This address is a Wix external database: set it as your Wix app's <code>baseUri</code>.</p>
<dl>
  <dt>Version</dt><dd id="version">{{ version }}</dd>
  <dt>Database</dt><dd id="database">{{ backend }}</dd>
  <dt>Collections</dt>
  <dd id="collections" class="{{ 'ok' if collections is not none else 'bad' }}">
    {{ collections if collections is not none else 'the database is unavailable' }}</dd>
  <dt>Wix key</dt>
  <dd id="wix-key" class="{{ 'ok' if keys else 'bad' }}">
    {{ 'configured (%d)' % keys if keys else 'not configured: set WIX_PUBLIC_KEY' }}</dd>
</dl>
</body>
</html>
"""


@bp.get("/")
def status_page():
    engine = get_engine(current_app)
    try:
        collections = len(current_app.extensions["connector.catalog"].collection_ids())
    except sa.exc.SQLAlchemyError:
        collections = None
    return render_template_string(
        _PAGE,
        version=__version__,
        backend=_BACKENDS.get(engine.dialect.name, engine.dialect.name),
        collections=collections,
        keys=len(current_app.extensions["connector.verifier"].public_keys),
    )
