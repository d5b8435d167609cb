"""Attachments: inline base64 in PUT and _bulk_docs, stubs, attachments=true,
atts_since, raw GET (Content-Type, ETag, 304) and raw PUT, and keeping or
dropping attachments across revisions."""

from __future__ import annotations

import pytest
from conftest import API_KEY
from sync_client import (
    CONFLICT,
    SyncClient,
    assert_error,
    assert_rev,
    b64,
    digest,
    md5_digest,
    wix_item,
)

from connector import create_app

HELLO = b"hello world"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.fixture
def sync(app):
    sync = SyncClient(app)
    sync.create_db("notes")
    return sync


def stub(data: bytes, content_type: str, revpos: int) -> dict:
    return {
        "content_type": content_type,
        "digest": md5_digest(data),
        "length": len(data),
        "revpos": revpos,
        "stub": True,
    }


def inline(data: bytes, content_type: str = "text/plain") -> dict:
    return {"content_type": content_type, "data": b64(data)}


def assert_inlined(meta: dict, data: bytes, content_type: str, revpos: int):
    assert meta.get("stub") is not True, meta
    assert meta["data"] == b64(data), meta
    assert (meta["content_type"], meta["digest"], meta["revpos"]) == (
        content_type,
        md5_digest(data),
        revpos,
    ), meta


def test_inline_attachment_in_put_is_served_as_a_stub(sync):
    rev = sync.save("notes", "d", {"title": "t", "_attachments": {"hello.txt": inline(HELLO)}})
    assert sync.doc("notes", "d") == {
        "_id": "d",
        "_rev": rev,
        "title": "t",
        "_attachments": {"hello.txt": stub(HELLO, "text/plain", 1)},
    }


def test_attachments_true_inlines_the_data(sync):
    sync.save("notes", "d", {"_attachments": {"hello.txt": inline(HELLO)}})
    doc = sync.doc("notes", "d", attachments=True)
    assert_inlined(doc["_attachments"]["hello.txt"], HELLO, "text/plain", 1)


def test_inline_attachments_in_bulk_docs(sync):
    results = sync.bulk(
        "notes",
        [
            {"_id": "a", "_attachments": {"hello.txt": inline(HELLO)}},
            {"_id": "b", "_attachments": {"pic.png": inline(PNG, "image/png")}},
        ],
    )
    assert [r["id"] for r in results] == ["a", "b"] and all(r["ok"] for r in results)
    assert sync.doc("notes", "a")["_attachments"] == {"hello.txt": stub(HELLO, "text/plain", 1)}
    assert sync.doc("notes", "b")["_attachments"] == {"pic.png": stub(PNG, "image/png", 1)}


def test_inline_attachments_with_new_edits_false(sync):
    rev2 = "2-" + "b" * 32
    doc = {
        "_id": "r",
        "_rev": rev2,
        "_revisions": {"start": 2, "ids": ["b" * 32, "a" * 32]},
        "_attachments": {"pic.png": inline(PNG, "image/png")},
    }
    assert sync.bulk("notes", [doc], new_edits=False) == [{"id": "r", "rev": rev2}]
    assert sync.doc("notes", "r") == {
        "_id": "r",
        "_rev": rev2,
        "_attachments": {"pic.png": stub(PNG, "image/png", 2)},
    }
    response = sync.open("GET", "notes/r/pic.png")
    assert (response.status_code, response.data) == (200, PNG)


def test_atts_since_inlines_only_newer_attachments(sync):
    rev1 = sync.save("notes", "d", {"_attachments": {"a.txt": inline(b"first")}})
    atts = {"a.txt": {"stub": True}, "b.txt": inline(b"second")}
    rev2 = sync.save("notes", "d", {"_rev": rev1, "_attachments": atts})
    doc = sync.doc("notes", "d", atts_since=[rev1])
    assert doc["_rev"] == rev2
    assert doc["_attachments"]["a.txt"] == stub(b"first", "text/plain", 1)
    assert_inlined(doc["_attachments"]["b.txt"], b"second", "text/plain", 2)
    both = sync.doc("notes", "d", atts_since=["1-" + "f" * 32])  # a rev the server lacks
    assert_inlined(both["_attachments"]["a.txt"], b"first", "text/plain", 1)
    assert_inlined(both["_attachments"]["b.txt"], b"second", "text/plain", 2)


def test_raw_get_has_the_content_type_and_an_etag(sync):
    sync.save("notes", "d", {"_attachments": {"pic.png": inline(PNG, "image/png")}})
    response = sync.open("GET", "notes/d/pic.png")
    assert response.status_code == 200
    assert response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    etag = response.headers["ETag"]
    assert etag
    cached = sync.open("GET", "notes/d/pic.png", headers={"If-None-Match": etag})
    assert (cached.status_code, cached.data) == (304, b"")
    other = sync.open("GET", "notes/d/pic.png", headers={"If-None-Match": '"md5-other"'})
    assert (other.status_code, other.data) == (200, PNG)
    status, body = sync.get("notes/d/none.png")
    assert_error(status, body, 404, "not_found")


def test_raw_put_makes_a_new_revision(sync):
    rev1 = sync.save("notes", "d", {"title": "t", "_attachments": {"hello.txt": inline(HELLO)}})
    status, body = sync.put("notes/d/pic.png", data=PNG, content_type="image/png")
    assert (status, body) == (409, CONFLICT)
    stale = "1-" + "0" * 32
    status, body = sync.put("notes/d/pic.png", data=PNG, content_type="image/png", rev=stale)
    assert (status, body) == (409, CONFLICT)
    status, body = sync.put("notes/d/pic.png", data=PNG, content_type="image/png", rev=rev1)
    assert status == 201, body
    assert set(body) == {"id", "ok", "rev"} and (body["id"], body["ok"]) == ("d", True)
    rev2 = assert_rev(body["rev"], 2)
    assert sync.doc("notes", "d") == {
        "_id": "d",
        "_rev": rev2,
        "title": "t",
        "_attachments": {
            "hello.txt": stub(HELLO, "text/plain", 1),
            "pic.png": stub(PNG, "image/png", 2),
        },
    }
    response = sync.open("GET", "notes/d/pic.png")
    assert (response.status_code, response.data) == (200, PNG)
    assert response.headers["Content-Type"] == "image/png"


def test_a_stub_keeps_the_attachment_and_leaving_it_out_removes_it(sync):
    rev1 = sync.save("notes", "d", {"v": 1, "_attachments": {"hello.txt": inline(HELLO)}})
    kept = {"hello.txt": {"stub": True}}
    rev2 = sync.save("notes", "d", {"_rev": rev1, "v": 2, "_attachments": kept})
    assert sync.doc("notes", "d")["_attachments"] == {"hello.txt": stub(HELLO, "text/plain", 1)}
    assert sync.open("GET", "notes/d/hello.txt").data == HELLO
    rev3 = sync.save("notes", "d", {"_rev": rev2, "v": 3})
    assert sync.doc("notes", "d") == {"_id": "d", "_rev": rev3, "v": 3}
    status, body = sync.get("notes/d/hello.txt")
    assert_error(status, body, 404, "not_found")
    status, body = sync.put("notes/d", {"_rev": rev3, "_attachments": {"x.txt": {"stub": True}}})
    assert_error(status, body, 400, "bad_request")


def test_the_rev_depends_on_the_attachment_content(sync):
    first = sync.save("notes", "d", {"_attachments": {"a.txt": inline(b"one")}})
    second = sync.save("notes", "e", {"_attachments": {"a.txt": inline(b"two")}})
    assert digest(first) != digest(second)


def test_a_wix_api_update_keeps_the_attachments(sync, api):
    rev1 = sync.save("notes", "d", {"title": "old", "_attachments": {"hello.txt": inline(HELLO)}})
    item = {**wix_item(api, "notes", "d"), "overflow": {"title": "new"}}
    status, body = api.post("/v3/items/update", {"collectionId": "notes", "items": [item]})
    assert status == 200, body
    doc = sync.doc("notes", "d")
    assert doc == {
        "_id": "d",
        "_rev": doc["_rev"],
        "title": "new",
        "_attachments": {"hello.txt": stub(HELLO, "text/plain", 1)},
    }
    assert_rev(doc["_rev"], 2)
    assert doc["_rev"] != rev1
    assert sync.open("GET", "notes/d/hello.txt").data == HELLO


@pytest.mark.parametrize("data", ["not base64!", "aGVsbG8", 42])
def test_bad_base64_is_bad_request(sync, data):
    atts = {"x.txt": {"content_type": "text/plain", "data": data}}
    status, body = sync.put("notes/d", {"_attachments": atts})
    assert_error(status, body, 400, "bad_request")
    (result,) = sync.bulk("notes", [{"_id": "e", "_attachments": atts}])
    assert (result["id"], result["error"], result["status"]) == ("e", "bad_request", 400), result
    assert sync.info("notes")["doc_count"] == 0


def test_a_raw_attachment_may_exceed_the_body_limit_up_to_20_mb(app_config):
    small = create_app({**app_config, "CONNECTOR_MAX_BODY": 4096})
    client = small.test_client()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    assert client.put("/sync/notes/", headers=headers).status_code == 201
    big_doc = client.put("/sync/notes/d", json={"text": "x" * 5000}, headers=headers)
    assert big_doc.status_code == 413
    assert big_doc.get_json()["error"] == "request_entity_too_large"
    data = bytes(range(256)) * 40  # 10 KB: over CONNECTOR_MAX_BODY, under 20 MB
    stored = client.put(
        "/sync/notes/d/blob.bin",
        data=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert stored.status_code == 201, stored.get_json()
    raw = client.get("/sync/notes/d/blob.bin", headers=headers)
    assert raw.data == data
    rev = stored.get_json()["rev"]
    too_big = client.put(
        f"/sync/notes/d/huge.bin?rev={rev}",
        data=b"\0" * (20 * 1024 * 1024 + 1),
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert too_big.status_code == 413
    assert too_big.get_json()["error"] == "request_entity_too_large"
    small.extensions["connector.engine"].dispose()
