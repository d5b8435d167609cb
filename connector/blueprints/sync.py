"""/sync/...: the Sync Gateway Public REST API over the same collections.

``GET /sync/`` is the server; ``/sync/{collection}/...`` a database per
collection. Views parse parameters and answer; connector/sync does the work.
"""

from __future__ import annotations

import hmac
import json
import time

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_sock import Sock

from .. import __version__, config, service
from ..errors import ConnectorError
from ..sync import attachments, docs, edits, feed, local, params, store, users
from ..sync.context import Sync, check_doc_id
from ..sync.errors import BadRequest, FileExists, Forbidden, NotFound, SyncError, Unauthorized

bp = Blueprint("sync", __name__)
sock = Sock()
REALM = 'Basic realm="connector sync"'


def _sync() -> Sync:
    return current_app.extensions["connector.sync"]


def _authenticator() -> users.Authenticator:
    return current_app.extensions["connector.sync_users"]


def _shared() -> feed.SharedPages:
    return current_app.extensions["connector.sync_pages"]


def _waker() -> feed.Waker:
    return current_app.extensions["connector.sync_waker"]


# --- who may call ------------------------------------------------------------------


#: Endpoints any caller may reach (the root, as Sync Gateway's; logging in and out).
_OPEN = {"sync.server", "sync.get_session", "sync.open_session", "sync.close_session"}
#: Endpoints that only read, whatever their method (POST carries a query here).
_READS = {
    "sync.all_docs",
    "sync.bulk_get",
    "sync.changes",
    "sync.revs_diff",
    "sync.ensure_full_commit",
}
#: Checkpoints: replicators write them to the source too, so reading is enough.
_LOCAL = {"sync.get_local", "sync.put_local", "sync.delete_local"}
_ADMIN = {"sync.create_database", "sync.delete_database"}


def _caller() -> users.User | None:
    """Who is calling: the admin key (Bearer, or the password of HTTP Basic), a
    sync user (HTTP Basic or the session cookie), or nobody."""
    key = current_app.config.get("CONNECTOR_API_KEY")
    scheme, _, credential = (request.headers.get("Authorization") or "").partition(" ")
    auth = _authenticator()
    if scheme.lower() == "bearer":
        token = credential.strip()
        return users.ADMIN if key and hmac.compare_digest(token.encode(), key.encode()) else None
    if scheme.lower() == "basic":
        basic = request.authorization
        if basic is None or basic.password is None:
            return None
        if key and hmac.compare_digest(basic.password.encode(), key.encode()):
            return users.ADMIN
        return auth.password(basic.username or "", basic.password)
    cookie = request.cookies.get(users.COOKIE)
    return auth.session(cookie) if cookie else None


@bp.before_request
def authorize():
    user = _caller()
    g.sync_user = user
    endpoint = request.endpoint
    if endpoint in _OPEN:
        return None
    if user is None:
        raise Unauthorized("Login required.")
    db = (request.view_args or {}).get("db")
    if endpoint in _ADMIN or db is None:
        if not user.admin and endpoint in _ADMIN:
            raise Forbidden("Only the admin may create or delete a database.")
        return None
    read_only = request.method in ("GET", "HEAD") or endpoint in _READS or endpoint in _LOCAL
    if not user.may(db, users.READ if read_only else users.WRITE):
        raise Forbidden(f"You may not {'read' if read_only else 'write'} the database {db!r}.")
    return None


@bp.errorhandler(SyncError)
def sync_error(exc: SyncError):
    response = jsonify(exc.body)
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = REALM
    return response


# --- server and databases ------------------------------------------------------------


@bp.get("/")
def server():
    return {
        "couchdb": "Welcome",
        "vendor": {"name": "connector", "version": __version__},
        "version": f"connector/{__version__}",
        "uuid": current_app.extensions["connector.sync_uuid"],
    }


@bp.get("/<db>/")
def database(db):
    sync = _sync()
    with sync.reading(db) as (conn, collection):
        seq = store.last_seq(conn, collection.id)
        count = docs.live_count(conn, collection.id)
    return {
        "db_name": db,
        "doc_count": count,
        "update_seq": seq,
        "committed_update_seq": seq,
        "instance_start_time": current_app.extensions["connector.sync_started"],
        "compact_running": False,
        "purge_seq": 0,
        "disk_format_version": 0,
        "state": "Online",
    }


@bp.put("/<db>/")
def create_database(db):
    if service.catalog().exists(db):
        raise FileExists(f"The database {db!r} already exists.")
    overflow = _sync().settings.overflow
    service.create_collection({"id": db, "fields": [{"key": overflow, "type": "OBJECT"}]})
    _sync().collection(db)
    return jsonify({"ok": True}), 201


@bp.delete("/<db>/")
def delete_database(db):
    try:
        service.catalog().get(db)
    except ConnectorError:
        raise NotFound("no such database") from None
    service.delete_collection(db)
    return {"ok": True}


@bp.post("/<db>/_ensure_full_commit")
def ensure_full_commit(db):
    _sync().collection(db)
    started = current_app.extensions["connector.sync_started"]
    return jsonify({"ok": True, "instance_start_time": started}), 201


# --- sessions -------------------------------------------------------------------------


def _user_context() -> dict:
    user = g.sync_user
    name = None if user is None else (user.name or "admin")
    return {
        "authentication_handlers": ["default", "cookie"],
        "ok": True,
        "userCtx": {"channels": {}, "name": name},
    }


@bp.get("/<db>/_session")
def get_session(db):
    return _user_context()


@bp.post("/<db>/_session")
def open_session(db):
    body = params.body_object()
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise BadRequest('_session needs {"name", "password"}.')
    user = _authenticator().password(name, password)
    if user is None:
        raise Unauthorized("Invalid login.")
    g.sync_user = user
    token, expires = _authenticator().open_session(name)
    response = jsonify(_user_context())
    response.set_cookie(
        users.COOKIE,
        token,
        expires=expires,
        httponly=True,
        secure=request.is_secure,
        samesite="Lax",
        path=_cookie_path(db),
    )
    return response


def _cookie_path(db: str) -> str:
    return f"{request.script_root}{config.sync_prefix(current_app.config)}/{db}/"


@bp.delete("/<db>/_session")
def close_session(db):
    cookie = request.cookies.get(users.COOKIE)
    if cookie:
        _authenticator().close_session(cookie)
    response = jsonify({"ok": True})
    response.delete_cookie(users.COOKIE, path=_cookie_path(db))
    return response


# --- documents --------------------------------------------------------------------------


def _read_options() -> dict:
    return {
        "rev": request.args.get("rev"),
        "revs": params.flag("revs"),
        "latest": params.flag("latest"),
        "attachments": params.flag("attachments"),
        "atts_since": params.revs_list(params.json_arg("atts_since"), "atts_since"),
        "open_revs": params.json_arg("open_revs")
        if request.args.get("open_revs") != "all"
        else "all",
    }


@bp.get("/<db>/<doc_id>")
def get_doc(db, doc_id):
    options = _read_options()
    if options["open_revs"] is None:
        options.pop("open_revs")
    return jsonify(docs.read(_sync(), db, check_doc_id(doc_id), options))


def _one_result(result: dict):
    if "error" in result:
        raise _as_error(result)
    return jsonify({"id": result["id"], "ok": True, "rev": result["rev"]}), 201


def _as_error(result: dict) -> SyncError:
    error = SyncError(result["reason"])
    error.error, error.status = result["error"], result["status"]
    return error


@bp.put("/<db>/<doc_id>")
def put_doc(db, doc_id):
    doc = params.body_object()
    doc["_id"] = check_doc_id(doc_id)
    rev = request.args.get("rev") or _if_match()
    if rev and "_rev" not in doc:
        doc["_rev"] = rev
    new_edits = params.flag("new_edits", True)
    (result,) = edits.write_docs(_sync(), db, [doc], new_edits=new_edits)
    if not new_edits and "error" not in result:
        return jsonify({"id": result["id"], "ok": True, "rev": result["rev"]}), 201
    return _one_result(result)


@bp.post("/<db>/")
def post_doc(db):
    doc = params.body_object()
    (result,) = edits.write_docs(_sync(), db, [doc], new_edits=True)
    return _one_result(result)


@bp.delete("/<db>/<doc_id>")
def delete_doc(db, doc_id):
    rev = request.args.get("rev") or _if_match()
    if not rev:
        raise SyncError("A delete needs the current rev.") from None
    doc = {"_id": check_doc_id(doc_id), "_rev": rev, "_deleted": True}
    (result,) = edits.write_docs(_sync(), db, [doc], new_edits=True)
    if "error" in result:
        raise _as_error(result)
    return {"id": result["id"], "ok": True, "rev": result["rev"]}


def _if_match() -> str | None:
    value = request.headers.get("If-Match")
    return value.strip('"') if value else None


@bp.post("/<db>/_bulk_docs")
def bulk_docs(db):
    body = params.body_object()
    documents_ = body.get("docs")
    if not isinstance(documents_, list):
        raise BadRequest('_bulk_docs needs {"docs": [...]}.')
    new_edits = body.get("new_edits", True)
    if not isinstance(new_edits, bool):
        raise BadRequest("new_edits must be true or false.")
    results = edits.write_docs(_sync(), db, documents_, new_edits=new_edits)
    return jsonify(results), 201


@bp.post("/<db>/_bulk_get")
def bulk_get(db):
    body = params.body_object()
    options = {
        "revs": params.flag("revs"),
        "latest": params.flag("latest"),
        "attachments": params.flag("attachments"),
    }
    results = docs.bulk_get(_sync(), db, body.get("docs"), options)
    if "application/json" in (request.headers.get("Accept") or ""):
        return {"results": results}
    return _multipart(results)


def _multipart(results: list[dict]) -> Response:
    """Sync Gateway's own answer: one JSON part per document revision."""
    boundary = f"connector-{time.monotonic_ns():x}"
    parts = []
    for result in results:
        for entry in result["docs"]:
            doc = entry.get("ok") or entry["error"]
            headers = f"Content-Type: application/json\r\nX-Doc-ID: {result['id']}\r\n"
            if "ok" in entry:
                headers += f"X-Rev-ID: {doc['_rev']}\r\n"
            else:
                headers += "X-Error: true\r\n"
            parts.append(f"--{boundary}\r\n{headers}\r\n{json.dumps(doc)}\r\n")
    text = "".join(parts) + f"--{boundary}--\r\n"
    return Response(text, content_type=f"multipart/mixed; boundary={boundary}")


@bp.post("/<db>/_revs_diff")
def revs_diff(db):
    return docs.revs_diff(_sync(), db, params.body_object())


@bp.route("/<db>/_all_docs", methods=["GET", "POST"])
def all_docs(db):
    options = {
        "include_docs": params.flag("include_docs"),
        "update_seq": params.flag("update_seq"),
        "descending": params.flag("descending"),
        "limit": params.integer("limit"),
        "skip": params.integer("skip", 0),
        "keys": params.json_arg("keys"),
        "startkey": params.json_arg("startkey", params.json_arg("start_key")),
        "endkey": params.json_arg("endkey", params.json_arg("end_key")),
    }
    if request.method == "POST":
        body = params.body_object(required=False)
        if "keys" in body:
            options["keys"] = body["keys"]
    keys = options["keys"]
    if keys is not None and (not isinstance(keys, list)):
        raise BadRequest("keys must be a JSON array of document ids.")
    for name in ("startkey", "endkey"):
        if options[name] is not None and not isinstance(options[name], str):
            raise BadRequest(f"{name} must be a document id (a JSON string).")
    return docs.all_docs(_sync(), db, options)


# --- attachments ---------------------------------------------------------------------------


@bp.get("/<db>/<doc_id>/<path:name>")
def get_attachment(db, doc_id, name):
    meta, data = docs.attachment(_sync(), db, check_doc_id(doc_id), name, request.args.get("rev"))
    etag = f'"{meta["digest"]}"'
    if request.headers.get("If-None-Match") in (etag, meta["digest"]):
        return Response(status=304, headers={"ETag": etag})
    return Response(data, content_type=meta["content_type"], headers={"ETag": etag})


@bp.put("/<db>/<doc_id>/<path:name>")
def put_attachment(db, doc_id, name):
    # A raw attachment may be larger than CONNECTOR_MAX_BODY: the seed allows 20 MB.
    request.max_content_length = max(
        attachments.MAX_BYTES, current_app.config["MAX_CONTENT_LENGTH"]
    )
    if request.content_length and request.content_length > attachments.MAX_BYTES:
        raise attachments.TooLarge(f"An attachment may hold at most {attachments.MAX_BYTES} bytes.")
    rev = request.args.get("rev") or _if_match()
    content_type = request.headers.get("Content-Type") or "application/octet-stream"
    result = edits.put_attachment(
        _sync(), db, check_doc_id(doc_id), name, request.get_data(), content_type, rev
    )
    return _one_result(result)


# --- _local documents ----------------------------------------------------------------------


@bp.get("/<db>/_local/<path:local_id>")
def get_local(db, local_id):
    return local.read(_sync(), db, local_id)


@bp.put("/<db>/_local/<path:local_id>")
def put_local(db, local_id):
    rev = local.write(_sync(), db, local_id, params.body_object())
    return jsonify({"id": f"_local/{local_id}", "ok": True, "rev": rev}), 201


@bp.delete("/<db>/_local/<path:local_id>")
def delete_local(db, local_id):
    local.delete(_sync(), db, local_id, request.args.get("rev") or _if_match())
    return {"id": f"_local/{local_id}", "ok": True}


# The changes feed's views (normal, longpoll, continuous, websocket) join this blueprint.
from . import sync_changes  # noqa: E402, F401
