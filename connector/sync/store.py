"""Revision trees over a collection's rows: tracking, settling captured changes,
and applying planned edits through the one write path.

Every change goes the same way (:func:`apply`): new tree nodes are planned in
memory, the winner of each document is worked out, the table row is made to
show it (``writes.insert``/``update``/``remove``, so the capture triggers fire),
the triggers' pending entries become the documents' sequence numbers, and the
nodes and winners are stored, all in the caller's transaction. Writers of one
collection take turns on its sequence counter, so sequences commit in order.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .. import writes
from ..catalog import ID
from . import documents, revisions, triggers
from .errors import Forbidden
from .revisions import Revision
from .tables import sync_collections as C
from .tables import sync_docs as D
from .tables import sync_local as L
from .tables import sync_pending as P
from .tables import sync_revisions as R

CHUNK = 500  # ids per IN list


@dataclass(frozen=True)
class Settings:
    """The sync API's settings.

    :param overflow: the field key of a collection's overflow JSON column.
    :param revs_limit: how many generations of history each branch keeps.
    """

    overflow: str = "overflow"
    revs_limit: int = 1000


@dataclass
class Node:
    """A revision planned for a document (its body is None for history-only nodes)."""

    rev: str
    parent: str | None
    deleted: bool
    leaf: bool
    body: dict | None


@dataclass
class Edit:
    """The planned change to one document: new nodes, oldest first, and the
    existing leaves they grow from."""

    doc_id: str
    nodes: list[Node]
    parents: list[str] = field(default_factory=list)
    row_shows: str | None = None  # the node the table row already holds


def _chunks(values: list):
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _locking(conn, stmt):
    # MariaDB's repeatable read would show an old snapshot: lock to read the newest.
    return stmt if conn.dialect.name == "sqlite" else stmt.with_for_update()


def dumps(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@contextmanager
def write_transaction(engine):
    """A write transaction (on SQLite it takes the write lock up front, so a read
    followed by a write never fails halfway with 'database is locked')."""
    with engine.connect() as conn:
        conn.execution_options(connector_write=True)
        with conn.begin():
            yield conn


# --- the sequence -----------------------------------------------------------------


def last_seq(conn, collection_id: str) -> int | None:
    """The collection's newest sequence; None when it is not tracked."""
    return conn.execute(
        sa.select(C.c.last_seq).where(C.c.collection_id == collection_id)
    ).scalar_one_or_none()


def lock(conn, collection_id: str) -> None:
    """Take the collection's sequence lock until the transaction ends."""
    conn.execute(C.update().where(C.c.collection_id == collection_id).values(last_seq=C.c.last_seq))


def _bump(conn, collection_id: str, count: int) -> list[int]:
    conn.execute(
        C.update().where(C.c.collection_id == collection_id).values(last_seq=C.c.last_seq + count)
    )
    newest = last_seq(conn, collection_id)
    return list(range(newest - count + 1, newest + 1))


def _take_pending(conn, collection) -> dict[str, int]:
    """The captured changes (document id -> newest sequence), removed from the queue."""
    stmt = sa.select(P.c.seq, P.c.doc_id).where(P.c.collection_id == collection.id)
    rows = conn.execute(_locking(conn, stmt)).all()
    if not rows:
        return {}
    for seqs in _chunks([seq for seq, _ in rows]):
        conn.execute(P.delete().where(P.c.collection_id == collection.id, P.c.seq.in_(seqs)))
    id_field = collection.id_field
    newest: dict[str, int] = {}
    for seq, raw in rows:
        # The trigger's text of the key (SQLite's hex UUID) as the API spells the id.
        doc_id = id_field.to_wire(id_field.to_database(raw))
        newest[doc_id] = max(seq, newest.get(doc_id, 0))
    return newest


# --- tracking -------------------------------------------------------------------


def track(engine, collection, settings: Settings) -> bool:
    """Start tracking a collection's changes: triggers, then a first revision of
    every row. False when it was tracked already."""
    transactional_ddl = engine.dialect.name != "mysql"
    with write_transaction(engine) as conn:
        if last_seq(conn, collection.id) is not None:
            return False
        try:
            with conn.begin_nested():
                conn.execute(C.insert().values(collection_id=collection.id, last_seq=0))
        except sa.exc.IntegrityError:
            return False  # another process got there first
        if transactional_ddl:
            triggers.install(conn, collection)
            _snapshot(conn, collection, settings)
            return True
    # MySQL commits each DDL statement: the counter row must exist before the
    # triggers use it, and rows written meanwhile are queued by them.
    with write_transaction(engine) as conn:
        triggers.install(conn, collection)
    with write_transaction(engine) as conn:
        lock(conn, collection.id)
        _snapshot(conn, collection, settings)
    return True


def untrack(conn, collection) -> None:
    """Stop tracking a collection and forget its history (its table is being dropped)."""
    triggers.drop(conn, collection)
    for table in (P, D, R, L, C):
        conn.execute(table.delete().where(table.c.collection_id == collection.id))


def _snapshot(conn, collection, settings: Settings) -> None:
    """A first revision for every row that has none yet, a thousand rows at a time."""
    key = collection.id_field.column
    after = None
    while True:
        stmt = sa.select(*collection.select_fields()).order_by(key).limit(1000)
        if after is not None:
            stmt = stmt.where(key > after)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        after = rows[-1]._mapping[ID]
        known = state(
            conn, collection.id, [collection.id_field.to_wire(r._mapping[ID]) for r in rows]
        )
        edits = []
        for item in collection.rows_to_items(rows):
            if item[ID] in known:
                continue
            body = documents.body_from_item(collection, item, overflow=settings.overflow)
            node = Node(revisions.new_rev(None, body), None, False, True, body)
            edits.append(Edit(item[ID], [node], row_shows=node.rev))
        if edits:
            seqs = dict(
                zip([e.doc_id for e in edits], _bump(conn, collection.id, len(edits)), strict=True)
            )
            winners = {e.doc_id: Revision(e.nodes[0].rev, None, 1, False, True) for e in edits}
            _store(conn, collection, edits, seqs, winners, settings)


def insert_many(conn, table: sa.Table, rows: list[dict]) -> None:
    """Insert rows (all with the same keys). On PostgreSQL as one array per column,
    unnested by the server: one short statement, compiled once, whatever the count."""
    if conn.dialect.name != "postgresql" or len(rows) < 2:
        conn.execute(table.insert(), rows)
        return
    keys = list(rows[0])
    arrays = (
        sa.func.unnest(
            *(
                sa.bindparam(
                    f"a_{key}", [r[key] for r in rows], type_=postgresql.ARRAY(table.c[key].type)
                )
                for key in keys
            )
        )
        .table_valued(*keys)
        .render_derived()
    )
    conn.execute(table.insert().from_select(keys, sa.select(*arrays.c)))


# --- reading the tree ---------------------------------------------------------------


def state(conn, collection_id: str, doc_ids: list[str]) -> dict[str, tuple[str, bool, int]]:
    """(winning rev, deleted, seq) of each known document."""
    found = {}
    for ids in _chunks(doc_ids):
        stmt = sa.select(D.c.doc_id, D.c.rev, D.c.deleted, D.c.seq).where(
            D.c.collection_id == collection_id, D.c.doc_id.in_(ids)
        )
        found.update({d: (rev, bool(deleted), seq) for d, rev, deleted, seq in conn.execute(stmt)})
    return found


def _nodes(conn, collection_id: str, doc_ids: list[str], *, leaves_only: bool) -> dict:
    tree: dict[str, dict[str, Revision]] = {d: {} for d in doc_ids}
    for ids in _chunks(doc_ids):
        stmt = sa.select(
            R.c.doc_id, R.c.rev, R.c.parent, R.c.generation, R.c.deleted, R.c.leaf, R.c.seq
        ).where(R.c.collection_id == collection_id, R.c.doc_id.in_(ids))
        if leaves_only:
            stmt = stmt.where(R.c.leaf == sa.true())
        for doc_id, rev, parent, generation, deleted, leaf, seq in conn.execute(stmt):
            tree[doc_id][rev] = Revision(rev, parent, generation, bool(deleted), bool(leaf), seq)
    return tree


def leaves(conn, collection_id: str, doc_ids: list[str]) -> dict[str, dict[str, Revision]]:
    """Each document's leaf revisions by id (empty for an unknown document)."""
    return _nodes(conn, collection_id, doc_ids, leaves_only=True)


def tree(conn, collection_id: str, doc_id: str) -> dict[str, Revision]:
    """Every stored revision of a document by id (no bodies)."""
    return _nodes(conn, collection_id, [doc_id], leaves_only=False)[doc_id]


def bodies(conn, collection_id: str, wanted: list[tuple[str, str]]) -> dict:
    """Stored bodies by (doc_id, rev); revisions whose body is gone are absent."""
    found = {}
    by_doc: dict[str, list[str]] = {}
    for doc_id, rev in wanted:
        by_doc.setdefault(doc_id, []).append(rev)
    for doc_ids in _chunks(list(by_doc)):
        revs = sorted({r for d in doc_ids for r in by_doc[d]})
        stmt = sa.select(R.c.doc_id, R.c.rev, R.c.body).where(
            R.c.collection_id == collection_id,
            R.c.doc_id.in_(doc_ids),
            R.c.rev.in_(revs),
            R.c.body.is_not(None),
        )
        for doc_id, rev, body in conn.execute(stmt):
            found[(doc_id, rev)] = json.loads(body)
    return found


# --- changing it -------------------------------------------------------------------


def has_pending(conn, collection_id: str) -> bool:
    """Whether captured changes wait to become revisions."""
    probe = sa.select(P.c.seq).where(P.c.collection_id == collection_id).limit(1)
    return conn.execute(probe).first() is not None


def settle(conn, collection, settings: Settings) -> int:
    """Turn the captured row changes of a collection into revisions, each on top of
    its document's winner. Returns how many documents changed."""
    if not has_pending(conn, collection.id):
        return 0
    lock(conn, collection.id)
    pending = _take_pending(conn, collection)
    if not pending:
        return 0
    doc_ids = list(pending)
    rows = _items(conn, collection, doc_ids)
    known = state(conn, collection.id, doc_ids)
    parent_bodies = bodies(conn, collection.id, [(d, s[0]) for d, s in known.items()])
    edits = []
    for doc_id in doc_ids:
        winner = known.get(doc_id)
        parent = winner[0] if winner else None
        item = rows.get(doc_id)
        if item is not None:
            body = documents.body_from_item(collection, item, overflow=settings.overflow)
            attachments = (parent_bodies.get((doc_id, parent)) or {}).get("_attachments")
            if attachments:  # a row change keeps the document's attachments
                body["_attachments"] = attachments
        elif winner is not None and not winner[1]:
            body = {"_deleted": True}
        else:
            continue  # made and removed before anyone saw it
        node = Node(revisions.new_rev(parent, body), parent, "_deleted" in body, True, body)
        # A new sequence, not the trigger's: a feed may already have passed that
        # one (its counter was visible before this revision existed).
        edits.append(Edit(doc_id, [node], [parent] if parent else [], row_shows=node.rev))
    apply(conn, collection, edits, settings)
    return len(edits)


def apply(conn, collection, edits: list[Edit], settings: Settings) -> dict:
    """Store ``edits`` (one per document) and make each row show its winner.

    The caller holds the sequence lock and has settled the collection (or is
    settling it). Returns {doc_id: SyncError} for the edits that were refused;
    the others are stored.
    """
    if not edits:
        return {}
    existing = leaves(conn, collection.id, [e.doc_id for e in edits])
    show: dict[str, Node | Revision] = {}
    winners: dict[str, Revision] = {}
    for edit in edits:
        now = {r: rev for r, rev in existing[edit.doc_id].items() if r not in edit.parents}
        for node in edit.nodes:
            if node.leaf:
                generation = revisions.parse(node.rev)[0]
                now[node.rev] = Revision(node.rev, node.parent, generation, node.deleted, True)
        win = winners[edit.doc_id] = revisions.winner(list(now.values()))
        if win.rev != edit.row_shows:
            show[edit.doc_id] = next((n for n in edit.nodes if n.rev == win.rev), win)
    errors = _project(conn, collection, show, settings)
    kept = [e for e in edits if e.doc_id not in errors]
    pending = _take_pending(conn, collection)
    # A row this transaction changed has its trigger's sequence; the rest get new ones.
    unseq = [e.doc_id for e in kept if e.doc_id not in pending]
    fresh = dict(zip(unseq, _bump(conn, collection.id, len(unseq)) if unseq else [], strict=True))
    seqs = {e.doc_id: pending.get(e.doc_id) or fresh[e.doc_id] for e in kept}
    _store(conn, collection, kept, seqs, winners, settings)
    return errors


def _project(conn, collection, show: dict, settings: Settings) -> dict:
    """Make rows hold the winners in ``show`` (a Node, or a stored Revision to load)."""
    if not show:
        return {}
    stored = bodies(
        conn,
        collection.id,
        [(d, w.rev) for d, w in show.items() if isinstance(w, Revision) and not w.deleted],
    )
    present = set(_items(conn, collection, list(show)))
    inserts, updates, removes, errors = [], [], [], {}
    for doc_id, win in show.items():
        if win.deleted:
            if doc_id in present:
                removes.append(doc_id)
            continue
        body = win.body if isinstance(win, Node) else stored.get((doc_id, win.rev), {})
        item = documents.item_from_body(collection, doc_id, body, overflow=settings.overflow)
        (updates if doc_id in present else inserts).append(item)
    for fn, batch in ((writes.insert, inserts), (writes.update, updates)):
        if batch:
            for item, result in zip(batch, fn(conn, collection, batch), strict=True):
                if "error" in result:
                    errors[item[ID]] = Forbidden(result["error"]["errorMessage"])
    if removes:
        for doc_id, result in zip(removes, writes.remove(conn, collection, removes), strict=True):
            if "error" in result:
                errors[doc_id] = Forbidden(result["error"]["errorMessage"])
    return errors


def _store(conn, collection, edits: list[Edit], seqs: dict, winners: dict, settings: Settings):
    """Write the edits' nodes, retire their parents as leaves, and record the
    documents' winners (worked out by the caller, by document id)."""
    if not edits:
        return  # every edit was refused
    cid = collection.id
    parents = [{"d": e.doc_id, "r": p} for e in edits for p in e.parents]
    if parents:
        conn.execute(
            R.update()
            .where(
                R.c.collection_id == cid,
                R.c.doc_id == sa.bindparam("d"),
                R.c.rev == sa.bindparam("r"),
            )
            .values(leaf=False, body=None),
            parents,
        )
    insert_many(
        conn,
        R,
        [
            {
                "collection_id": cid,
                "doc_id": e.doc_id,
                "rev": n.rev,
                "parent": n.parent,
                "generation": revisions.parse(n.rev)[0],
                "deleted": n.deleted,
                "leaf": n.leaf,
                "seq": seqs[e.doc_id],
                "body": dumps(n.body) if n.leaf and n.body is not None else None,
            }
            for e in edits
            for n in e.nodes
        ],
    )
    doc_ids = [e.doc_id for e in edits]
    for ids in _chunks(doc_ids):
        conn.execute(D.delete().where(D.c.collection_id == cid, D.c.doc_id.in_(ids)))
    insert_many(
        conn,
        D,
        [
            {
                "collection_id": cid,
                "doc_id": d,
                "rev": winners[d].rev,
                "deleted": winners[d].deleted,
                "seq": seqs[d],
            }
            for d in doc_ids
        ],
    )
    _prune(conn, cid, winners, settings.revs_limit)


def _prune(conn, collection_id: str, winners: dict, limit: int) -> None:
    """Drop history older than ``limit`` generations behind each document's winner."""
    old = [{"d": d, "g": w.generation - limit} for d, w in winners.items() if w.generation > limit]
    if old:
        conn.execute(
            R.delete().where(
                R.c.collection_id == collection_id,
                R.c.doc_id == sa.bindparam("d"),
                R.c.leaf == sa.false(),
                R.c.generation <= sa.bindparam("g"),
            ),
            old,
        )


def _items(conn, collection, doc_ids: list[str]) -> dict[str, dict]:
    """The current rows of these documents, as wire items by id (read with a lock)."""
    to_key = collection.id_field.to_database
    found = {}
    for ids in _chunks(doc_ids):
        rows = writes.stored_rows(conn, collection, [to_key(d) for d in ids], lock=True)
        found.update({item[ID]: item for item in collection.rows_to_items(list(rows.values()))})
    return found
