"""Reading documents: one (``rev``, ``revs``, ``open_revs``, ``latest``,
``attachments``, ``atts_since``), ``_bulk_get``, ``_revs_diff``, ``_all_docs``,
and raw attachments."""

from __future__ import annotations

import sqlalchemy as sa

from . import attachments, documents, revisions, store
from .context import Sync
from .errors import BadRequest, NotFound, SyncError
from .tables import sync_docs as D
from .tables import sync_revisions as R

# --- reading ---------------------------------------------------------------------


def _render(conn, doc_id, rev: revisions.Revision, body, tree, options) -> dict:
    doc = {"_id": doc_id, "_rev": rev.rev}
    if rev.deleted:
        doc["_deleted"] = True
    doc.update(documents.user_fields(body))
    atts = body.get("_attachments")
    if atts:
        since = _since_generation(tree, options.get("atts_since"))
        doc["_attachments"] = attachments.outgoing(
            conn,
            atts,
            inline=options.get("attachments") or since is not None,
            since_generation=since or 0,
        )
    if options.get("revs"):
        doc["_revisions"] = revisions.history(tree, rev.rev, limit=options.get("revs_limit"))
    return doc


def _since_generation(tree, atts_since) -> int | None:
    """The generation of the newest ``atts_since`` revision the server has."""
    if not atts_since:
        return None
    known = [tree[r].generation for r in atts_since if r in tree]
    return max(known, default=0)


def read(sync: Sync, db: str, doc_id: str, options: dict):
    """GET /{db}/{doc}: the winner, a ``rev``, or with ``open_revs`` a list of leaves."""
    options = {"revs_limit": sync.settings.revs_limit, **options}
    with sync.reading(db) as (conn, collection):
        tree = store.tree(conn, collection.id, doc_id)
        open_revs = options.get("open_revs")
        if open_revs is not None:
            return _open_revs(conn, collection, doc_id, tree, open_revs, options)
        rev = options.get("rev")
        if rev is None:
            winner = revisions.winner([r for r in tree.values() if r.leaf])
            if winner is None:
                raise NotFound("missing")
            if winner.deleted:
                raise NotFound("deleted")
            rev = winner.rev
        return _one(conn, collection, doc_id, tree, rev, options)


def _one(conn, collection, doc_id, tree, rev, options) -> dict:
    node = tree.get(rev)
    body = store.bodies(conn, collection.id, [(doc_id, rev)]).get((doc_id, rev))
    if node is None or body is None:
        raise NotFound("missing")
    return _render(conn, doc_id, node, body, tree, options)


def _latest(tree, rev: str) -> list[str]:
    """The leaves descending from ``rev`` (itself when it is one)."""
    found = []
    for leaf in (r for r in tree.values() if r.leaf):
        node = leaf
        while node is not None and node.rev != rev:
            node = tree.get(node.parent) if node.parent else None
        if node is not None:
            found.append(leaf.rev)
    return found or [rev]


def _open_revs(conn, collection, doc_id, tree, open_revs, options) -> list[dict]:
    if open_revs == "all":
        wanted = [r.rev for r in tree.values() if r.leaf]
    elif isinstance(open_revs, list) and all(isinstance(r, str) for r in open_revs):
        wanted = open_revs
        if options.get("latest"):
            wanted = list(dict.fromkeys(w for r in open_revs for w in _latest(tree, r)))
    else:
        raise BadRequest('open_revs must be "all" or a JSON array of revision ids.')
    found = store.bodies(conn, collection.id, [(doc_id, r) for r in wanted])
    answer = []
    for rev in wanted:
        body = found.get((doc_id, rev))
        if rev in tree and body is not None:
            answer.append({"ok": _render(conn, doc_id, tree[rev], body, tree, options)})
        else:
            answer.append({"missing": rev})
    return answer


def bulk_get(sync: Sync, db: str, requests, options: dict) -> list[dict]:
    """POST /{db}/_bulk_get: per requested document, in order, its docs or errors."""
    if not isinstance(requests, list):
        raise BadRequest('_bulk_get needs {"docs": [{"id", "rev"?}, ...]}.')
    options = {"revs_limit": sync.settings.revs_limit, **options}
    results = []
    with sync.reading(db) as (conn, collection):
        for request in requests:
            doc_id = request.get("id") if isinstance(request, dict) else None
            if not isinstance(doc_id, str):
                results.append(
                    {
                        "id": doc_id,
                        "docs": [_bulk_error(doc_id, None, BadRequest("A request needs an id."))],
                    }
                )
                continue
            tree = store.tree(conn, collection.id, doc_id)
            rev = request.get("rev")
            these = {
                **options,
                "atts_since": request.get("atts_since") or options.get("atts_since"),
            }
            if rev is None:
                winner = revisions.winner([r for r in tree.values() if r.leaf])
                revs = [winner.rev] if winner else []
            else:
                revs = _latest(tree, rev) if options.get("latest") else [rev]
            docs = []
            for r in revs or [None]:
                try:
                    if r is None:
                        raise NotFound("missing")
                    docs.append({"ok": _one(conn, collection, doc_id, tree, r, these)})
                except SyncError as exc:
                    docs.append(_bulk_error(doc_id, r, exc))
            results.append({"id": doc_id, "docs": docs})
    return results


def _bulk_error(doc_id, rev, exc: SyncError) -> dict:
    return {"error": {"id": doc_id, "rev": rev, "error": exc.error, "reason": str(exc)}}


def revs_diff(sync: Sync, db: str, wanted) -> dict:
    """POST /{db}/_revs_diff: the revisions the server lacks, and possible ancestors."""
    if not isinstance(wanted, dict) or not all(
        isinstance(v, list) and all(isinstance(r, str) for r in v) for v in wanted.values()
    ):
        raise BadRequest("_revs_diff needs {doc_id: [rev, ...]}.")
    answer = {}
    with sync.reading(db) as (conn, collection):
        known = _known_revs(conn, collection.id, wanted)
        leaves = store.leaves(conn, collection.id, list(wanted))
        for doc_id, revs in wanted.items():
            missing = [r for r in dict.fromkeys(revs) if r not in known.get(doc_id, ())]
            if not missing:
                continue
            entry = {"missing": missing}
            newest = max(revisions.parse(r)[0] for r in missing)
            ancestors = sorted(r for r, leaf in leaves[doc_id].items() if leaf.generation < newest)
            if ancestors:
                entry["possible_ancestors"] = ancestors
            answer[doc_id] = entry
    return answer


def _known_revs(conn, collection_id, wanted: dict) -> dict[str, set]:
    known: dict[str, set] = {}
    pairs = [(d, r) for d, revs in wanted.items() for r in revs]
    for i in range(0, len(pairs), store.CHUNK):
        chunk = pairs[i : i + store.CHUNK]
        stmt = sa.select(R.c.doc_id, R.c.rev).where(
            R.c.collection_id == collection_id,
            R.c.doc_id.in_(sorted({d for d, _ in chunk})),
            R.c.rev.in_(sorted({r for _, r in chunk})),
        )
        for doc_id, rev in conn.execute(stmt):
            known.setdefault(doc_id, set()).add(rev)
    return known


# --- _all_docs ----------------------------------------------------------------------


def all_docs(sync: Sync, db: str, options: dict) -> dict:
    """GET|POST /{db}/_all_docs: live documents by id (``keys``: those, in order)."""
    with sync.reading(db) as (conn, collection):
        cid = collection.id
        doc_id = _binary(conn, D.c.doc_id)
        total = live_count(conn, cid)
        keys = options.get("keys")
        if keys is not None:
            found = store.state(conn, cid, [k for k in keys if isinstance(k, str)])
            rows = []
            for key in keys:
                if key not in found:
                    rows.append({"key": key, "error": "not_found"})
                    continue
                rev, deleted, _ = found[key]
                value = {"rev": rev} | ({"deleted": True} if deleted else {})
                rows.append({"id": key, "key": key, "value": value})
        else:
            stmt = sa.select(D.c.doc_id, D.c.rev).where(
                D.c.collection_id == cid, D.c.deleted == sa.false()
            )
            descending = bool(options.get("descending"))
            start, end = options.get("startkey"), options.get("endkey")
            if start is not None:
                stmt = stmt.where(doc_id <= start if descending else doc_id >= start)
            if end is not None:
                stmt = stmt.where(doc_id >= end if descending else doc_id <= end)
            stmt = stmt.order_by(doc_id.desc() if descending else doc_id)
            if options.get("skip"):
                stmt = stmt.offset(options["skip"])
            if options.get("limit") is not None:
                stmt = stmt.limit(max(options["limit"], 1))
            rows = [{"id": d, "key": d, "value": {"rev": r}} for d, r in conn.execute(stmt)]
        if options.get("include_docs"):
            _include_docs(conn, collection, rows, sync.settings)
        answer = {"rows": rows, "total_rows": total}
        if options.get("update_seq"):
            answer["update_seq"] = store.last_seq(conn, cid)
        return answer


def _binary(conn, column):
    # Ids sort by code point on every backend (PostgreSQL's default collation is the locale's).
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def winner_docs(conn, collection, winners: list[tuple[str, str, bool]], settings) -> list[dict]:
    """The rendered winning documents of (doc_id, rev, deleted), in order (a tombstone
    renders as ``{_id, _rev, _deleted}``)."""
    found = store.bodies(
        conn, collection.id, [(d, rev) for d, rev, deleted in winners if not deleted]
    )
    options = {"revs_limit": settings.revs_limit}
    rendered = []
    for doc_id, rev, deleted in winners:
        node = revisions.Revision(rev, None, revisions.parse(rev)[0], deleted, True)
        rendered.append(_render(conn, doc_id, node, found.get((doc_id, rev), {}), {}, options))
    return rendered


def _include_docs(conn, collection, rows: list[dict], settings) -> None:
    """Add each row's winning document under ``doc`` (null for deleted ones)."""
    live = [r for r in rows if "value" in r and not r["value"].get("deleted")]
    docs = winner_docs(
        conn, collection, [(r["id"], r["value"]["rev"], False) for r in live], settings
    )
    for row in rows:
        if "value" in row:
            row["doc"] = None
    for row, doc in zip(live, docs, strict=True):
        row["doc"] = doc


def live_count(conn, collection_id: str) -> int:
    return conn.execute(
        sa.select(sa.func.count()).where(
            D.c.collection_id == collection_id, D.c.deleted == sa.false()
        )
    ).scalar_one()


# --- attachments, raw -------------------------------------------------------------


def attachment(sync: Sync, db: str, doc_id: str, name: str, rev: str | None):
    """(stub, bytes) of an attachment of the winner (or of ``rev``)."""
    doc = read(sync, db, doc_id, {"rev": rev} if rev else {})
    stubs = doc.get("_attachments") or {}
    # The seed's guide links attachments with a trailing slash: /{db}/{doc}/{name}/
    meta = stubs.get(name) or stubs.get(name[:-1] if name.endswith("/") else None)
    if meta is None:
        raise NotFound("missing")
    with sync.engine.connect() as conn:
        data = attachments.load_blobs(conn, [meta["digest"]]).get(meta["digest"])
    if data is None:
        raise NotFound("missing")
    return meta, data
