"""/sync/{db}/_changes: the changes feed's views, on the sync blueprint
(normal, longpoll and continuous over HTTP; websocket by upgrade)."""

from __future__ import annotations

import json
import time

from flask import Response, request, stream_with_context

from ..sync import feed, params
from ..sync.errors import BadRequest, SyncError
from .sync import _shared, _sync, _waker, bp, sock

# --- the changes feed ----------------------------------------------------------------------


def _feed_options(source: dict) -> dict:
    doc_ids = source.get("doc_ids")
    if isinstance(doc_ids, str):
        try:
            doc_ids = json.loads(doc_ids)
        except ValueError:
            raise BadRequest("doc_ids must be a JSON array.") from None
    filter_ = source.get("filter")
    if filter_ not in (None, "", "_doc_ids"):
        raise BadRequest(f"Unknown filter {filter_!r}: the connector knows _doc_ids.")
    if filter_ == "_doc_ids":
        if not isinstance(doc_ids, list) or not all(isinstance(d, str) for d in doc_ids):
            raise BadRequest("filter=_doc_ids needs doc_ids, a JSON array of ids.")
    else:
        doc_ids = None

    def number(name, default):
        value = source.get(name, default)
        try:
            value = None if value is None else int(value)
        except (TypeError, ValueError):
            raise BadRequest(f"{name} must be an integer.") from None
        if value is not None and value < 0:
            raise BadRequest(f"{name} must not be negative.")
        return value

    def truth(name):
        value = source.get(name, False)
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1")

    feed_kind = source.get("feed", "normal")
    if feed_kind not in ("normal", "longpoll", "continuous", "websocket"):
        raise BadRequest(
            f"feed must be normal, longpoll, continuous or websocket, not {feed_kind!r}."
        )
    style = source.get("style", "main_only")
    if style not in ("main_only", "all_docs"):
        raise BadRequest("style must be main_only or all_docs.")
    timeout = number("timeout", feed.DEFAULT_TIMEOUT_MS)
    return {
        "feed": feed_kind,
        "since": feed.parse_since(source.get("since")),
        "limit": number("limit", None),
        "include_docs": truth("include_docs"),
        "active_only": truth("active_only"),
        "style": style,
        "doc_ids": doc_ids,
        "heartbeat": number("heartbeat", 0),
        "timeout": min(timeout, feed.MAX_TIMEOUT_MS),
    }


@bp.route("/<db>/_changes", methods=["GET", "POST"])
def changes(db):
    source = dict(request.args)
    if request.method == "POST":
        source.update(params.body_object(required=False))
    options = _feed_options(source)
    if options["feed"] == "websocket":
        raise BadRequest("feed=websocket needs a WebSocket upgrade request.")
    sync = _sync()
    collection_id = sync.collection(db).id
    rows, last = feed.page(sync, db, options)
    if options["feed"] == "normal" or (options["feed"] == "longpoll" and rows):
        return {"results": rows, "last_seq": last}
    waker = _waker()
    heartbeat = options["heartbeat"] / 1000 or None
    timeout = options["timeout"] / 1000 or None  # 0: no timeout (a heartbeat keeps it open)
    continuous = options["feed"] == "continuous"

    def stream():
        since, started = last, time.monotonic()
        for row in rows:
            yield json.dumps(row) + "\n"
        while True:
            left = None if timeout is None else timeout - (time.monotonic() - started)
            if left is not None and left <= 0:
                break
            step = min(x for x in (left, heartbeat, 60.0) if x is not None)
            if not waker.wait(collection_id, since, step):
                if heartbeat:
                    yield "\n"
                continue
            found, since = _shared().page(sync, db, {**options, "since": since})
            if not found:
                continue
            if not continuous:
                yield json.dumps({"results": found, "last_seq": since})
                return
            for row in found:
                yield json.dumps(row) + "\n"
        if continuous:
            yield json.dumps({"last_seq": since}) + "\n"
        else:
            yield json.dumps({"results": [], "last_seq": since})

    content_type = "application/json" if not continuous else "application/octet-stream"
    return Response(stream_with_context(stream()), content_type=content_type)


@sock.route("/<db>/_changes", bp=bp)
def changes_socket(ws, db):
    """feed=websocket: the client sends its options as one JSON message, then
    receives the changes as JSON arrays of rows, as they happen, until it closes."""
    sync = _sync()
    collection_id = sync.collection(db).id
    try:
        message = json.loads(ws.receive(timeout=30) or "{}")
    except ValueError:
        message = None
    if not isinstance(message, dict):
        ws.close(message="The first message must be a JSON object of feed options.")
        return
    try:
        options = _feed_options({**request.args, **message, "feed": "websocket"})
    except SyncError as exc:
        ws.close(message=str(exc))
        return
    since, waker = options["since"], _waker()
    heartbeat, sent = options["heartbeat"] / 1000, time.monotonic()
    while ws.connected:  # checked each second at least: a closed socket ends the feed
        rows, since = _shared().page(sync, db, {**options, "since": since})
        if rows:
            ws.send(json.dumps(rows))
            sent = time.monotonic()
            continue
        woken = waker.wait(collection_id, since, 1.0)
        if not woken and heartbeat and time.monotonic() - sent >= heartbeat:
            ws.send("")  # a keep-alive frame
            sent = time.monotonic()
