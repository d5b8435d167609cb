"""The connector: a relational database served as a Wix external database."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as settings
from . import db, metadata, metrics, migrate, observe, tenants
from .auth import Verifier
from .catalog import Catalog
from .cursors import CursorSigner
from .http import register_error_handlers
from .jsonwire import WireJSONProvider
from .tenants import Tenants

__version__ = "0.1.0"


def create_app(config: Mapping | None = None) -> Flask:
    """The connector app.

    :param config: settings that override the environment (tests pass theirs here).
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(settings.DEFAULTS)
    app.config.update(settings.from_env())
    if config:
        app.config.update(config)
    url = app.config.get("DATABASE_URL")
    if not url:
        os.makedirs(app.instance_path, exist_ok=True)
        url = f"sqlite:///{os.path.join(app.instance_path, 'connector.sqlite3')}"
    app.config["DATABASE_URL"] = settings.normalize_database_url(url)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["CONNECTOR_MAX_BODY"])
    app.json = WireJSONProvider(app)

    db.init_app(app)
    engine = db.get_engine(app)
    migrate.upgrade(engine)
    secret = app.config.get("CONNECTOR_SECRET_KEY")
    if not secret:
        with engine.begin() as conn:
            secret = metadata.shared_secret(conn, "cursor_secret")
    tables = settings.table_list(app.config.get("CONNECTOR_TABLES"))
    app.extensions["connector.catalog"] = Catalog(
        engine, ttl=float(app.config["CONNECTOR_SCHEMA_TTL"]), tables=tables
    )
    app.extensions["connector.verifier"] = Verifier.from_config(app.config)
    app.extensions["connector.cursors"] = CursorSigner(secret)
    app.extensions["connector.tenants"] = Tenants(
        tenants.parse(app.config.get("CONNECTOR_TENANTS")), app.config
    )
    _init_sync(app, engine, secret)

    hops = int(app.config["CONNECTOR_PROXY_HOPS"])
    if hops:  # trust X-Forwarded-* from exactly this many proxies in front
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    register_error_handlers(app)
    observe.init_app(app)
    metrics.init_app(app)
    from .blueprints import (
        capabilities,
        collections,
        health,
        indexes,
        items,
        openapi,
        references,
        status,
        sync,
    )

    for blueprint in (
        items.bp,
        references.bp,
        collections.bp,
        capabilities.bp,
        indexes.bp,
        openapi.bp,
        health.bp,
        status.bp,
        metrics.bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(sync.bp, url_prefix=settings.sync_prefix(app.config))
    return app


def _init_sync(app: Flask, engine, secret: str) -> None:
    from .sync.context import Sync
    from .sync.feed import SharedPages, Waker
    from .sync.store import Settings
    from .sync.users import Authenticator

    settings = Settings(
        overflow=str(app.config["CONNECTOR_SYNC_OVERFLOW_FIELD"]),
        revs_limit=int(app.config["CONNECTOR_SYNC_REVS_LIMIT"]),
    )
    app.extensions["connector.sync"] = Sync(app.extensions["connector.catalog"], settings)
    app.extensions["connector.sync_waker"] = Waker(engine)
    app.extensions["connector.sync_pages"] = SharedPages()
    app.extensions["connector.sync_users"] = Authenticator(engine, secret)
    with engine.begin() as conn:
        # The server's uuid: replication clients key their checkpoints by it.
        secret = metadata.shared_secret(conn, "sync_uuid")
    app.extensions["connector.sync_uuid"] = hashlib.md5(secret.encode()).hexdigest()
    app.extensions["connector.sync_started"] = str(int(time.time() * 1_000_000))
