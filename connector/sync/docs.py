"""Documents: read one (``rev``, ``revs``, ``open_revs``, ``latest``,
``attachments``, ``atts_since``), write them interactively or replicated
(``new_edits=false``), ``_bulk_get``, ``_revs_diff`` and ``_all_docs``.
"""

from __future__ import annotations

import base64
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from ..catalog import Catalog, Collection
from ..errors import CollectionNotFound
from . import attachments, documents, revisions, store
from .errors import BadRequest, Conflict, Forbidden, NotFound, SyncError
from .store import Edit, Node, Settings
from .tables import sync_docs as D
from .tables import sync_revisions as R


@dataclass
class Sync:
    """What every sync call needs: the catalog and the settings."""

    catalog: Catalog
    settings: Settings

    @property
    def engine(self):
        return self.catalog.engine

    def collection(self, db: str) -> Collection:
        """The collection behind database ``db``, tracked from now on."""
        try:
            collection = self.catalog.get(db)
        except CollectionNotFound:
            raise NotFound("no such database") from None
        if collection.is_view or collection.read_only:
            raise Forbidden(f"{db!r} is read-only: the sync API serves tables with one key.")
        if not collection.tracked:
            store.track(self.engine, collection, self.settings)
            collection = self.catalog.refresh(db)
        return collection

    def transaction(self):
        """A write transaction (store.write_transaction)."""
        return store.write_transaction(self.engine)

    def settle(self, collection: Collection) -> None:
        """Turn other programs' captured changes into revisions, if there are any."""
        with self.engine.connect() as conn:
            if not store.has_pending(conn, collection.id):
                return
        with self.transaction() as conn:
            store.settle(conn, collection, self.settings)

    @contextmanager
    def reading(self, db: str):
        """A connection to read ``db`` with, every captured change settled first."""
        collection = self.collection(db)
        self.settle(collection)
        with self.engine.connect() as conn:
            yield conn, collection

    @contextmanager
    def writing(self, db: str):
        """A write transaction on ``db``: the sequence lock taken, changes settled."""
        collection = self.collection(db)
        with self.transaction() as conn:
            store.lock(conn, collection.id)
            store.settle(conn, collection, self.settings)
            yield conn, collection


def check_doc_id(doc_id) -> str:
    if not isinstance(doc_id, str) or not doc_id:
        raise BadRequest("A document id must be a non-empty string.")
    if doc_id.startswith("_"):
        raise BadRequest(f"Document id {doc_id!r} is reserved: ids may not start with '_'.")
    return doc_id


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


# --- writing ---------------------------------------------------------------------


def write_docs(sync: Sync, db: str, docs: list, *, new_edits: bool) -> list[dict]:
    """PUT /{db}/{doc} and _bulk_docs: one result per document, in order."""
    results: list[dict | None] = [None] * len(docs)
    with sync.writing(db) as (conn, collection):
        rounds: list[dict[str, int]] = [{}]  # a document twice: the second in a later round
        for i, doc in enumerate(docs):
            try:
                doc_id = _doc_id(doc, new_edits)
            except SyncError as exc:
                results[i] = _result_error(doc.get("_id") if isinstance(doc, dict) else None, exc)
                continue
            target = next((r for r in rounds if doc_id not in r), None)
            if target is None:
                target = {}
                rounds.append(target)
            target[doc_id] = i
        for round_ in rounds:
            _write_round(conn, collection, docs, round_, results, sync.settings, new_edits)
    return results


def _doc_id(doc, new_edits: bool) -> str:
    if not isinstance(doc, dict):
        raise BadRequest("A document must be a JSON object.")
    documents.check_members(doc)
    if "_id" not in doc:
        if not new_edits:
            raise BadRequest("A replicated document needs _id and _rev.")
        doc["_id"] = uuid.uuid4().hex
    return check_doc_id(doc["_id"])


def _result_error(doc_id, exc: SyncError) -> dict:
    return {"id": doc_id, "error": exc.error, "reason": str(exc), "status": exc.status}


def _write_round(conn, collection, docs, round_: dict[str, int], results, settings, new_edits):
    leaves = store.leaves(conn, collection.id, list(round_))
    known = (
        {}
        if new_edits
        else _known_revs(
            conn,
            collection.id,
            {d: _chain_or_empty(docs[i]) for d, i in round_.items()},
        )
    )
    edits, answers = [], {}
    for doc_id, i in round_.items():
        doc = docs[i]
        try:
            if new_edits:
                edit = _interactive(conn, collection, doc_id, doc, leaves[doc_id], settings)
            else:
                edit = _replicated(
                    conn,
                    collection,
                    doc_id,
                    doc,
                    leaves[doc_id],
                    known.get(doc_id, set()),
                    settings,
                )
        except SyncError as exc:
            results[i] = _result_error(doc_id, exc)
            continue
        if edit is None:  # a replicated revision the server has already
            results[i] = {"id": doc_id, "rev": doc["_rev"]}
            continue
        edits.append(edit)
        newest = edit.nodes[-1].rev
        answers[doc_id] = (i, {"id": doc_id, "rev": newest} | ({"ok": True} if new_edits else {}))
    refused = store.apply(conn, collection, edits, settings)
    for doc_id, (i, answer) in answers.items():
        results[i] = _result_error(doc_id, refused[doc_id]) if doc_id in refused else answer


def _chain_or_empty(doc) -> list[str]:
    try:
        return revisions.chain(doc.get("_rev"), doc.get("_revisions"))
    except SyncError:
        return []


def _body(conn, collection, doc_id, doc, parent_body, generation, settings) -> dict:
    """The stored body of a new revision: the document's fields and attachments,
    checked against what the collection can hold."""
    deleted = doc.get("_deleted") is True
    body = {} if deleted else documents.user_fields(doc)
    if not deleted:
        documents.item_from_body(collection, doc_id, body, overflow=settings.overflow)
    atts = attachments.incoming(
        conn, doc.get("_attachments"), (parent_body or {}).get("_attachments"), generation
    )
    if atts:
        body["_attachments"] = atts
    if deleted:
        body["_deleted"] = True
    return body


def _interactive(conn, collection, doc_id, doc, leaves: dict, settings) -> Edit:
    given = doc.get("_rev")
    if given is not None:
        revisions.parse(given)
        if given not in leaves:
            raise Conflict()
        parent = given
    else:
        winner = revisions.winner(list(leaves.values()))
        if winner is not None and not winner.deleted:
            raise Conflict()
        parent = winner.rev if winner else None  # a deleted document may be made again
    if doc.get("_deleted") is True and parent is None:
        raise NotFound("missing")
    generation = revisions.parse(parent)[0] + 1 if parent else 1
    parent_body = (
        store.bodies(conn, collection.id, [(doc_id, parent)]).get((doc_id, parent))
        if parent
        else None
    )
    body = _body(conn, collection, doc_id, doc, parent_body, generation, settings)
    rev = revisions.new_rev(parent, body)
    node = Node(rev, parent, body.get("_deleted") is True, True, body)
    return Edit(doc_id, [node], [parent] if parent else [])


def _replicated(conn, collection, doc_id, doc, leaves: dict, known: set, settings) -> Edit | None:
    rev = doc.get("_rev")
    if rev is None:
        raise BadRequest("A replicated document needs _rev.")
    chain = revisions.chain(rev, doc.get("_revisions"))
    k = next((n for n, r in enumerate(chain) if r in known), len(chain))
    if k == 0:
        return None
    graft_on = chain[k] if k < len(chain) else None
    generation = revisions.parse(rev)[0]
    # Attachments given as stubs come from the nearest revision the server has.
    parent_body = None
    if graft_on is not None:
        parent_body = store.bodies(conn, collection.id, [(doc_id, graft_on)]).get(
            (doc_id, graft_on)
        )
    if parent_body is None and leaves:
        winner = revisions.winner(list(leaves.values()))
        parent_body = store.bodies(conn, collection.id, [(doc_id, winner.rev)]).get(
            (doc_id, winner.rev)
        )
    body = _body(conn, collection, doc_id, doc, parent_body, generation, settings)
    new = list(reversed(chain[:k]))
    nodes, parent = [], graft_on
    for r in new:
        leaf = r == rev
        nodes.append(
            Node(r, parent, leaf and body.get("_deleted") is True, leaf, body if leaf else None)
        )
        parent = r
    return Edit(doc_id, nodes, [graft_on] if graft_on in leaves else [])


# --- _all_docs ----------------------------------------------------------------------


def all_docs(sync: Sync, db: str, options: dict) -> dict:
    """GET|POST /{db}/_all_docs: live documents by id (``keys``: those, in order)."""
    with sync.reading(db) as (conn, collection):
        cid = collection.id
        doc_id = _binary(conn, D.c.doc_id)
        total = conn.execute(
            sa.select(sa.func.count()).where(D.c.collection_id == cid, D.c.deleted == sa.false())
        ).scalar_one()
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


def _include_docs(conn, collection, rows: list[dict], settings) -> None:
    """Add each live row's winning document under ``doc`` (null for deleted ones)."""
    wanted = [(r["id"], r["value"]["rev"]) for r in rows if "value" in r]
    found = store.bodies(conn, collection.id, wanted)
    options = {"revs_limit": settings.revs_limit}
    for row in rows:
        if "value" not in row:
            continue
        if row["value"].get("deleted"):
            row["doc"] = None
            continue
        rev = row["value"]["rev"]
        body = found.get((row["id"], rev), {})
        node = revisions.Revision(rev, None, revisions.parse(rev)[0], False, True)
        row["doc"] = _render(conn, row["id"], node, body, {}, options)


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


def put_attachment(sync: Sync, db: str, doc_id: str, name: str, data: bytes, content_type, rev):
    """PUT /{db}/{doc}/{attachment}: a new revision with this attachment added or replaced."""
    try:
        doc = read(sync, db, doc_id, {"rev": rev} if rev else {})
    except NotFound:
        if rev:
            raise Conflict() from None
        doc = {"_id": doc_id}  # a new document holding only the attachment
    if "_rev" in doc and rev != doc["_rev"]:
        raise Conflict()
    atts = dict(doc.get("_attachments") or {})
    atts[name] = {"content_type": content_type, "data": base64.b64encode(data).decode()}
    doc["_attachments"] = atts
    (result,) = write_docs(sync, db, [doc], new_edits=True)
    return result
