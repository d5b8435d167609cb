"""``_local`` documents: replication checkpoints, kept per collection, never in
the changes feed. Revisions are ``0-N``; a write needs the current one."""

from __future__ import annotations

import json

import sqlalchemy as sa

from .context import Sync
from .errors import BadRequest, Conflict, NotFound
from .tables import sync_local as L


def _where(collection_id: str, local_id: str):
    return sa.and_(L.c.collection_id == collection_id, L.c.local_id == local_id)


def read(sync: Sync, db: str, local_id: str) -> dict:
    collection = sync.collection(db)
    with sync.engine.connect() as conn:
        row = conn.execute(
            sa.select(L.c.rev, L.c.body).where(_where(collection.id, local_id))
        ).first()
    if row is None:
        raise NotFound("missing")
    return {**json.loads(row.body), "_id": f"_local/{local_id}", "_rev": row.rev}


def write(sync: Sync, db: str, local_id: str, doc: dict) -> str:
    """Store a _local document; its new revision."""
    collection = sync.collection(db)
    body = {k: v for k, v in doc.items() if k not in ("_id", "_rev")}
    with sync.transaction() as conn:
        current = _current(conn, collection.id, local_id)
        given = doc.get("_rev")
        if current is not None and given != current:
            raise Conflict()
        if current is None and given not in (None, "0-0"):
            raise Conflict()
        generation = int(current.partition("-")[2]) + 1 if current else 1
        rev = f"0-{generation}"
        conn.execute(L.delete().where(_where(collection.id, local_id)))
        try:
            with conn.begin_nested():
                conn.execute(
                    L.insert().values(
                        collection_id=collection.id,
                        local_id=local_id,
                        rev=rev,
                        body=json.dumps(body, separators=(",", ":")),
                    )
                )
        except sa.exc.IntegrityError:
            raise Conflict() from None  # another writer made it first
    return rev


def delete(sync: Sync, db: str, local_id: str, rev: str | None) -> None:
    collection = sync.collection(db)
    if not rev:
        raise BadRequest("A delete needs the current rev.")
    with sync.transaction() as conn:
        current = _current(conn, collection.id, local_id)
        if current is None:
            raise NotFound("missing")
        if rev != current:
            raise Conflict()
        conn.execute(L.delete().where(_where(collection.id, local_id)))


def _current(conn, collection_id: str, local_id: str) -> str | None:
    stmt = sa.select(L.c.rev).where(_where(collection_id, local_id))
    if conn.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).scalar_one_or_none()
