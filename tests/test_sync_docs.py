"""The sync API's server, databases, auth and single-document CRUD, and the seed's
integration flow 1 (import a JSON store through _bulk_docs, write the revs back)."""

from __future__ import annotations

import base64
import re

import pytest
from conftest import API_KEY
from sync_client import (
    CONFLICT,
    DELETED,
    MISSING,
    SyncClient,
    assert_error,
    assert_rev,
    digest,
    wix_item,
)

from connector import create_app

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def sync(app):
    return SyncClient(app)


# --- the server ------------------------------------------------------------------


def test_server_root_is_public_and_has_a_stable_uuid(app, app_config):
    anonymous = SyncClient(app, headers={})
    status, body = anonymous.get("")
    assert status == 200, body
    assert body["couchdb"] == "Welcome"
    assert HEX32.match(body["uuid"]), body
    assert anonymous.get("")[1]["uuid"] == body["uuid"]
    # Another process on the same database is the same server.
    other = create_app(app_config)
    try:
        assert SyncClient(other, headers={}).get("")[1]["uuid"] == body["uuid"]
    finally:
        other.extensions["connector.engine"].dispose()


# --- databases -------------------------------------------------------------------


def test_database_lifecycle(sync, api):
    status, body = sync.get("movies/")
    assert_error(status, body, 404, "not_found")
    assert sync.put("movies/") == (201, {"ok": True})
    status, body = sync.put("movies/")
    assert_error(status, body, 412, "file_exists")
    info = sync.info("movies")
    assert info["db_name"] == "movies"
    assert (info["doc_count"], info["update_seq"]) == (0, 0)
    assert api.items("movies") == []

    rev = sync.save("movies", "m1", {"title": "Alien"})
    rev2 = sync.save("movies", "m2", {"title": "Heat"})
    info = sync.info("movies")
    assert info["doc_count"] == 2 and info["update_seq"] > 0
    assert sync.post("movies/_ensure_full_commit", {}) == (
        201,
        {"ok": True, "instance_start_time": info["instance_start_time"]},
    )
    seq = info["update_seq"]
    assert sync.delete("movies/m1", rev=rev)[0] == 200
    info = sync.info("movies")
    assert info["doc_count"] == 1 and info["update_seq"] > seq
    assert [item["_id"] for item in api.items("movies")] == ["m2"]

    assert sync.delete("movies/") == (200, {"ok": True})
    status, body = sync.get("movies/")
    assert_error(status, body, 404, "not_found")
    assert api.query("movies")[0] == 404
    status, body = sync.delete("movies/")
    assert_error(status, body, 404, "not_found")
    # Made again, it starts empty: no history of the old one.
    sync.create_db("movies")
    info = sync.info("movies")
    assert (info["doc_count"], info["update_seq"]) == (0, 0)
    assert sync.get("movies/m2") == (404, MISSING)
    assert sync.changes("movies") == {"results": [], "last_seq": 0}
    assert sync.save("movies", "m2", {"title": "Heat"}) == rev2


# --- auth ------------------------------------------------------------------------


def test_auth_needs_the_admin_key(app, sync):
    sync.create_db("notes")
    anonymous = SyncClient(app, headers={})
    for client in (anonymous, SyncClient(app, headers={"Authorization": "Bearer wrong-key"})):
        response = client.open("GET", "notes/")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].lower().startswith("basic")
        assert_error(401, response.get_json(), 401, "unauthorized")
    wrong_basic = "Basic " + base64.b64encode(b"someone:wrong").decode()
    assert SyncClient(app, headers={"Authorization": wrong_basic}).get("notes/")[0] == 401
    # Before the database is looked up: a missing one is 401 too, not 404.
    assert anonymous.get("nowhere/")[0] == 401
    assert anonymous.put("notes/n1", {"a": 1})[0] == 401
    basic = "Basic " + base64.b64encode(f"anyone:{API_KEY}".encode()).decode()
    status, body = SyncClient(app, headers={"Authorization": basic}).get("notes/")
    assert status == 200 and body["db_name"] == "notes", body


# --- documents -------------------------------------------------------------------


def test_document_crud(sync, api):
    sync.create_db("notes")
    status, body = sync.put("notes/n1", {"title": "one"})
    assert status == 201, body
    assert set(body) == {"id", "ok", "rev"} and (body["id"], body["ok"]) == ("n1", True)
    rev1 = assert_rev(body["rev"], 1)
    assert sync.doc("notes", "n1") == {"_id": "n1", "_rev": rev1, "title": "one"}

    rev2 = sync.save("notes", "n1", {"_rev": rev1, "title": "two"})
    rev3 = sync.save("notes", "n1", {"title": "three"}, rev=rev2, generation_=3)
    assert sync.doc("notes", "n1") == {"_id": "n1", "_rev": rev3, "title": "three"}
    assert wix_item(api, "notes", "n1")["overflow"] == {"title": "three"}

    assert sync.put("notes/n1", {"_rev": rev1, "title": "stale"}) == (409, CONFLICT)
    assert sync.put("notes/n1", {"title": "no rev"}) == (409, CONFLICT)
    assert sync.delete("notes/n1", rev=rev2) == (409, CONFLICT)
    assert sync.doc("notes", "n1")["_rev"] == rev3

    status, body = sync.delete("notes/n1", rev=rev3)
    assert status == 200, body
    assert set(body) == {"id", "ok", "rev"} and (body["id"], body["ok"]) == ("n1", True)
    tombstone = assert_rev(body["rev"], 4)
    assert sync.get("notes/n1") == (404, DELETED)
    assert sync.doc("notes", "n1", rev=tombstone) == {
        "_id": "n1",
        "_rev": tombstone,
        "_deleted": True,
    }
    assert wix_item(api, "notes", "n1") is None
    assert sync.get("notes/nothing") == (404, MISSING)
    assert sync.get("notes/n1", rev="2-" + "0" * 32) == (404, MISSING)


def test_a_deleted_document_is_made_again_without_rev(sync, api):
    sync.create_db("notes")
    rev1 = sync.save("notes", "n1", {"title": "one"})
    status, body = sync.delete("notes/n1", rev=rev1)
    assert status == 200
    assert_rev(body["rev"], 2)
    rev3 = sync.save("notes", "n1", {"title": "again"}, generation_=3)
    assert sync.doc("notes", "n1") == {"_id": "n1", "_rev": rev3, "title": "again"}
    assert wix_item(api, "notes", "n1")["overflow"] == {"title": "again"}


def test_revision_ids_are_deterministic(sync):
    for db in ("left", "right"):
        sync.create_db(db)
    revs = {}
    for db in ("left", "right"):
        rev1 = sync.save(db, "d", {"a": 1, "b": [1, 2]})
        rev2 = sync.save(db, "d", {"_rev": rev1, "b": [1, 2], "a": 2})
        revs[db] = (rev1, rev2)
    assert revs["left"] == revs["right"]
    other = sync.save("left", "e", {"a": 1, "b": [1, 2, 3]})
    assert digest(other) != digest(revs["left"][0])


def test_post_generates_an_id(sync):
    sync.create_db("notes")
    status, body = sync.post("notes/", {"title": "posted"})
    assert status == 201, body
    assert set(body) == {"id", "ok", "rev"} and body["ok"] is True
    doc_id = body["id"]
    assert isinstance(doc_id, str) and doc_id and not doc_id.startswith("_")
    rev = assert_rev(body["rev"], 1)
    assert sync.doc("notes", doc_id) == {"_id": doc_id, "_rev": rev, "title": "posted"}
    assert sync.post("notes/", {"title": "other"})[1]["id"] != doc_id


def test_overflow_fields_of_a_schemaless_collection(sync, api):
    sync.create_db("notes")
    body = {"title": "T", "tags": ["a", "b"], "n": 1, "nested": {"x": None}}
    rev = sync.save("notes", "n1", body)
    item = wix_item(api, "notes", "n1")
    assert item["overflow"] == body
    assert sync.doc("notes", "n1") == {"_id": "n1", "_rev": rev, **body}


def test_revs_true_gives_the_history(sync):
    sync.create_db("notes")
    rev1 = sync.save("notes", "n1", {"v": 1})
    rev2 = sync.save("notes", "n1", {"_rev": rev1, "v": 2})
    rev3 = sync.save("notes", "n1", {"_rev": rev2, "v": 3})
    doc = sync.doc("notes", "n1", revs=True)
    assert doc["_revisions"] == {"start": 3, "ids": [digest(rev3), digest(rev2), digest(rev1)]}
    assert "_revisions" not in sync.doc("notes", "n1")


# --- the seed's integration flow 1 -------------------------------------------------


def test_import_an_external_store_and_write_the_revs_back(sync, api):
    store = [
        {"_id": "movie-1", "title": "Alien", "year": 1979, "posters": {"thumbnail": "a.jpg"}},
        {"_id": "movie-2", "title": "Heat", "year": 1995, "posters": {"thumbnail": "h.jpg"}},
        {"_id": "movie-3", "title": "Ran", "year": 1985, "posters": {"thumbnail": "r.jpg"}},
    ]
    sync.create_db("movies_lister")
    results = sync.bulk("movies_lister", store)
    assert [r["id"] for r in results] == [m["_id"] for m in store]
    for row in results:
        assert set(row) == {"id", "ok", "rev"} and row["ok"] is True, row
        movie = next(m for m in store if m["_id"] == row["id"])
        movie["_rev"] = assert_rev(row["rev"], 1)

    again = sync.bulk("movies_lister", store)
    assert [r["id"] for r in again] == [m["_id"] for m in store]
    for row, movie in zip(again, store, strict=True):
        assert set(row) == {"id", "ok", "rev"} and row["ok"] is True, row
        assert_rev(row["rev"], 2)
        fields = {k: v for k, v in movie.items() if k != "_rev"}
        assert sync.doc("movies_lister", movie["_id"]) == {**fields, "_rev": row["rev"]}
    assert sync.info("movies_lister")["doc_count"] == 3
    titles = {i["_id"]: i["overflow"]["title"] for i in api.items("movies_lister")}
    assert titles == {"movie-1": "Alien", "movie-2": "Heat", "movie-3": "Ran"}
