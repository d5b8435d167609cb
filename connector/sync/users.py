"""Sync users: hashed passwords, per-collection grants, and ``_session`` cookies.

Managed with ``connector sync-user ...``. A user authenticates by HTTP Basic or
by the cookie ``POST /sync/{db}/_session`` sets (HttpOnly; it expires after 24
hours without use, as the seed describes Sync Gateway's sessions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from .store import write_transaction
from .tables import sync_grants as G
from .tables import sync_sessions as S
from .tables import sync_users as U

READ, WRITE = "read", "write"
SESSION_TTL = dt.timedelta(hours=24)
COOKIE = "SyncGatewaySession"
_VERIFIED_FOR = 60.0  # seconds a checked password is trusted without hashing it again


class UnknownUser(LookupError):
    pass


@dataclass(frozen=True)
class User:
    """An authenticated caller: the admin (every collection) or a sync user."""

    name: str | None
    grants: dict[str, str]
    admin: bool = False

    def may(self, collection_id: str, access: str) -> bool:
        if self.admin:
            return True
        granted = self.grants.get(collection_id)
        return granted == WRITE or (granted == READ and access == READ)


ADMIN = User(None, {}, admin=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- managing users (the CLI) ----------------------------------------------------------


def set_user(conn, *, name: str, password: str) -> None:
    """Create a user, or give an existing one a new password.

    :param name: the user name (HTTP Basic user, ``_session`` name).
    :param password: stored only as a salted scrypt hash.
    """
    if not name or ":" in name:
        raise ValueError("A user name must be non-empty and may not contain ':'.")
    conn.execute(U.delete().where(U.c.name == name))
    conn.execute(U.insert().values(name=name, password_hash=generate_password_hash(password)))


def remove_user(conn, *, name: str) -> None:
    """Remove a user with its grants and sessions."""
    if conn.execute(U.delete().where(U.c.name == name)).rowcount == 0:
        raise UnknownUser(name)
    conn.execute(G.delete().where(G.c.name == name))
    conn.execute(S.delete().where(S.c.name == name))


def grant(conn, *, name: str, collection_id: str, access: str) -> None:
    """Let a user read (``read``) or read and write (``write``) a collection."""
    if access not in (READ, WRITE):
        raise ValueError("access must be 'read' or 'write'.")
    _require(conn, name)
    conn.execute(G.delete().where(G.c.name == name, G.c.collection_id == collection_id))
    conn.execute(G.insert().values(name=name, collection_id=collection_id, access=access))


def revoke(conn, *, name: str, collection_id: str) -> None:
    _require(conn, name)
    conn.execute(G.delete().where(G.c.name == name, G.c.collection_id == collection_id))


def list_users(conn) -> list[tuple[str, dict[str, str]]]:
    users = {n: {} for n in conn.execute(sa.select(U.c.name).order_by(U.c.name)).scalars()}
    for name, collection_id, access in conn.execute(
        sa.select(G.c.name, G.c.collection_id, G.c.access)
    ):
        users.setdefault(name, {})[collection_id] = access
    return sorted(users.items())


def _require(conn, name: str) -> None:
    if conn.execute(sa.select(U.c.name).where(U.c.name == name)).first() is None:
        raise UnknownUser(name)


def _grants(conn, name: str) -> dict[str, str]:
    rows = conn.execute(sa.select(G.c.collection_id, G.c.access).where(G.c.name == name))
    return dict(rows.all())


# --- authenticating ----------------------------------------------------------------------


class Authenticator:
    """Checks sync users' passwords and sessions against the database.

    Checked passwords are remembered for a minute (by a keyed digest, never in
    clear), because replication clients send Basic credentials with every request
    and a scrypt hash per request would cost more than the request.
    """

    def __init__(self, engine, secret: str):
        self.engine = engine
        self._key = hashlib.sha256(secret.encode()).digest()
        self._verified: dict[bytes, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def password(self, name: str, password: str) -> User | None:
        with self.engine.connect() as conn:
            stored = conn.execute(
                sa.select(U.c.password_hash).where(U.c.name == name)
            ).scalar_one_or_none()
            if stored is None:
                return None
            token = hmac.new(self._key, f"{name}\0{password}".encode(), "sha256").digest()
            with self._lock:
                seen = self._verified.get(token)
            fresh = (
                seen is not None
                and seen[1] == stored
                and time.monotonic() - seen[0] < _VERIFIED_FOR
            )
            if not fresh:
                if not check_password_hash(stored, password):
                    return None
                with self._lock:
                    if len(self._verified) > 10_000:
                        self._verified.clear()
                    self._verified[token] = (time.monotonic(), stored)
            return User(name, _grants(conn, name))

    def open_session(self, name: str) -> tuple[str, dt.datetime]:
        """A new session cookie value for ``name`` and when it expires."""
        token = secrets.token_urlsafe(32)
        expires = _now() + SESSION_TTL
        with write_transaction(self.engine) as conn:
            conn.execute(S.delete().where(S.c.expires_at < _now()))  # forget expired ones
            conn.execute(
                S.insert().values(token_hash=_digest(token), name=name, expires_at=expires)
            )
        return token, expires

    def session(self, token: str) -> User | None:
        """The user of a live session; its idle expiry moves on with each use."""
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                sa.select(S.c.name, S.c.expires_at).where(S.c.token_hash == _digest(token))
            ).first()
            if row is None or row.expires_at < _now():
                return None
            renewed = _now() + SESSION_TTL
            if renewed - row.expires_at > dt.timedelta(minutes=1):  # at most one write a minute
                conn.execute(
                    S.update().where(S.c.token_hash == _digest(token)).values(expires_at=renewed)
                )
            return User(row.name, _grants(conn, row.name))

    def close_session(self, token: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(S.delete().where(S.c.token_hash == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
