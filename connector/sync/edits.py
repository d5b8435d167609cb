"""Writing documents: interactively (``_rev`` must be a current leaf) or
replicated (``new_edits=false``: grafted into the tree, never a conflict), one
by one or through ``_bulk_docs``, and raw attachment uploads."""

from __future__ import annotations

import base64
import uuid

from . import attachments, documents, revisions, store
from .context import Sync, check_doc_id
from .docs import _known_revs, read
from .errors import BadRequest, Conflict, NotFound, SyncError
from .store import Edit, Node

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
