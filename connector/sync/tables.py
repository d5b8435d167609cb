"""The sync API's bookkeeping tables (created by migration 0005).

- ``sync_collections``: the collections whose changes are tracked, each with its
  sequence counter. The capture triggers bump the counter, so writers to one
  collection take turns and sequences commit in order.
- ``sync_pending``: changes the triggers saw and no revision covers yet (a row
  written by another program, or by the connector a moment before it records
  the revision in the same transaction).
- ``sync_docs``: per document, the winning revision and its latest sequence.
- ``sync_revisions``: every document's revision tree; leaves keep their bodies.
- ``sync_blobs``: attachment contents, addressed by digest, shared by revisions.
- ``sync_local``: ``_local`` documents (replication checkpoints), never replicated.
- ``sync_users``, ``sync_grants``, ``sync_sessions``: sync users (hashed
  passwords), their per-collection grants, and their ``_session`` cookies.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from ..metadata import metadata


def key(length: int):
    """A key column's type: compared exactly (binary) on MySQL/MariaDB too."""
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


#: Document bodies and attachment contents can be large; MySQL's TEXT/BLOB hold 64 KB.
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
REV = 100  # "generation-digest": 32 hex digits of MD5 after up to 60 digits of generation

sync_collections = sa.Table(
    "_connector_sync_collections",
    metadata,
    sa.Column("collection_id", key(255), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

sync_pending = sa.Table(
    "_connector_sync_pending",
    metadata,
    sa.Column("collection_id", key(255), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("doc_id", key(255), nullable=False),
)

sync_docs = sa.Table(
    "_connector_sync_docs",
    metadata,
    sa.Column("collection_id", key(255), primary_key=True),
    sa.Column("doc_id", key(255), primary_key=True),
    sa.Column("rev", key(REV), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Index("_connector_sync_docs_seq", "collection_id", "seq"),
)

sync_revisions = sa.Table(
    "_connector_sync_revisions",
    metadata,
    sa.Column("collection_id", key(255), primary_key=True),
    sa.Column("doc_id", key(255), primary_key=True),
    sa.Column("rev", key(REV), primary_key=True),
    sa.Column("parent", key(REV)),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("leaf", sa.Boolean, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", BODY),  # JSON; kept for leaves, dropped when a child is added
)

sync_blobs = sa.Table(
    "_connector_sync_blobs",
    metadata,
    sa.Column("digest", key(REV), primary_key=True),
    sa.Column("data", BLOB, nullable=False),
)

sync_local = sa.Table(
    "_connector_sync_local",
    metadata,
    sa.Column("collection_id", key(255), primary_key=True),
    sa.Column("local_id", key(255), primary_key=True),
    sa.Column("rev", key(REV), nullable=False),
    sa.Column("body", BODY, nullable=False),
)

TABLES = (sync_collections, sync_pending, sync_docs, sync_revisions, sync_blobs, sync_local)

# --- who may sync (migration 0006) ----------------------------------------------------

sync_users = sa.Table(
    "_connector_sync_users",
    metadata,
    sa.Column("name", key(255), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
)

#: access is "read" or "write" (write includes read).
sync_grants = sa.Table(
    "_connector_sync_grants",
    metadata,
    sa.Column("name", key(255), primary_key=True),
    sa.Column("collection_id", key(255), primary_key=True),
    sa.Column("access", sa.String(8), nullable=False),
)

sync_sessions = sa.Table(
    "_connector_sync_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie
    sa.Column("name", key(255), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

USER_TABLES = (sync_users, sync_grants, sync_sessions)
