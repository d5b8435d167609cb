"""Multi-site isolation: ``CONNECTOR_TENANTS`` maps a Wix ``instanceId`` to a
database of its own.

Each mapped site gets its own engine, catalog and cursor secret, opened on its
first request and kept for the life of the process, so one site's requests
never read, write or page through another's tables. A request from an instance
that is not mapped is refused before any database is touched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from . import config as settings
from . import db, metadata, migrate
from .catalog import Catalog
from .cursors import CursorSigner
from .errors import PermissionDenied

#: The header a direct caller (API key) names its site with when tenants are set.
INSTANCE_HEADER = "X-Wix-Instance-Id"


class UnknownInstance(PermissionDenied):
    """The request's site is not one this connector serves."""

    message = "This connector does not serve the requesting site."


@dataclass(frozen=True)
class Database:
    """What requests of one site run against."""

    engine: object
    catalog: Catalog
    cursors: CursorSigner


def parse(value) -> dict[str, str]:
    """``CONNECTOR_TENANTS`` as ``{instanceId: database URL}``: a mapping, or its
    JSON text (an object of strings)."""
    if not value:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"CONNECTOR_TENANTS is not a JSON object: {exc}") from None
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()
    ):
        raise ValueError("CONNECTOR_TENANTS must map instance ids to database URLs.")
    return {k: settings.normalize_database_url(v) for k, v in value.items()}


class Tenants:
    """The mapped sites' databases, opened on first use.

    :param urls: ``{instanceId: database URL}``.
    :param config: the app's settings (schema, timeouts, TTL, allow-list, secret).
    """

    def __init__(self, urls: dict[str, str], config: Mapping):
        self._urls = urls
        self._config = config
        self._open: dict[str, Database] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._urls)

    def database(self, instance_id) -> Database:
        """The database of ``instance_id``, or :class:`UnknownInstance`."""
        found = self._open.get(instance_id) if isinstance(instance_id, str) else None
        if found is not None:
            return found
        if not isinstance(instance_id, str) or instance_id not in self._urls:
            raise UnknownInstance(
                "This connector does not serve the requesting site (its instanceId is not "
                f"in CONNECTOR_TENANTS; direct callers name it with {INSTANCE_HEADER})."
            )
        with self._lock:  # one opening (and migration) per site, however many threads ask
            if instance_id not in self._open:
                self._open[instance_id] = self._opened(instance_id)
        return self._open[instance_id]

    def _opened(self, instance_id: str) -> Database:
        config = self._config
        engine = db.create_engine(self._urls[instance_id], **db.engine_options(config))
        migrate.upgrade(engine)
        secret = config.get("CONNECTOR_SECRET_KEY")
        if secret:  # one configured secret, a different key per site
            secret = hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()
        else:
            with engine.begin() as conn:
                secret = metadata.shared_secret(conn, "cursor_secret")
        catalog = Catalog(
            engine,
            ttl=float(config["CONNECTOR_SCHEMA_TTL"]),
            tables=settings.table_list(config.get("CONNECTOR_TABLES")),
        )
        return Database(engine, catalog, CursorSigner(secret))

    @property
    def instance_ids(self) -> list[str]:
        """Every mapped site."""
        return list(self._urls)

    def prepare(self) -> None:
        """Open every site's database once (its metadata migrations, its cursor
        secret) and close it again: gunicorn's master does this before forking,
        so workers never race to migrate a site."""
        for instance_id in self._urls:
            self.database(instance_id)
        self.dispose()
        self._open.clear()

    def dispose(self) -> None:
        """Close every site's connections (tests, and the master before forking)."""
        for database in self._open.values():
            database.engine.dispose()
