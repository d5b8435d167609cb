"""_all_docs, _local documents and revs_limit pruning."""

from __future__ import annotations

import json

import pytest
from sync_client import CONFLICT, MISSING, SyncClient, assert_error, assert_rev, digest

from connector import create_app


@pytest.fixture
def sync(app):
    return SyncClient(app)


@pytest.fixture
def filled(sync):
    """A database with live c, a, é, B, ab (made in that order) and deleted d."""
    sync.create_db("notes")
    revs = {}
    for doc_id in ("c", "a", "é", "B", "ab", "d"):
        revs[doc_id] = sync.save("notes", doc_id, {"name": doc_id})
    status, body = sync.delete("notes/d", rev=revs["d"])
    assert status == 200, body
    revs["d"] = body["rev"]
    return revs


def row(revs, doc_id):
    return {"id": doc_id, "key": doc_id, "value": {"rev": revs[doc_id]}}


def all_docs(sync, method="GET", body=None, **q):
    status, answer = sync.call(method, "notes/_all_docs", body, **q)
    assert status == 200, answer
    return answer


def test_all_docs_orders_by_code_point(sync, filled):
    assert all_docs(sync) == {
        "rows": [row(filled, d) for d in ("B", "a", "ab", "c", "é")],
        "total_rows": 5,
    }


def test_all_docs_limit_and_key_range(sync, filled):
    limited = all_docs(sync, limit=2)
    assert limited == {"rows": [row(filled, "B"), row(filled, "a")], "total_rows": 5}
    ranged = all_docs(sync, startkey=json.dumps("a"), endkey=json.dumps("ab"))
    assert ranged == {"rows": [row(filled, "a"), row(filled, "ab")], "total_rows": 5}
    rows = all_docs(sync, startkey=json.dumps("ab"))["rows"]
    assert rows == [row(filled, d) for d in ("ab", "c", "é")]
    assert all_docs(sync, endkey=json.dumps("a"))["rows"] == [row(filled, "B"), row(filled, "a")]
    rows = all_docs(sync, descending=True, startkey=json.dumps("c"), endkey=json.dumps("a"))["rows"]
    assert rows == [row(filled, d) for d in ("c", "ab", "a")]
    status, body = sync.get("notes/_all_docs", startkey="5")
    assert_error(status, body, 400, "bad_request")


def test_all_docs_skip_and_bad_parameters(sync, filled):
    skipped = all_docs(sync, skip=3, limit=1)
    assert skipped == {"rows": [row(filled, "c")], "total_rows": 5}
    for bad in ({"limit": "x"}, {"skip": "-1"}, {"keys": '"a"'}, {"startkey": "5"}):
        status, body = sync.get("notes/_all_docs", **bad)
        assert status == 400, (bad, body)
        assert body["error"] == "bad_request"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_all_docs_keys(sync, filled, method):
    keys = ["c", "zz", "d", "B"]
    if method == "GET":
        answer = all_docs(sync, keys=keys)
    else:
        answer = all_docs(sync, "POST", {"keys": keys})
    assert answer == {
        "rows": [
            row(filled, "c"),
            {"key": "zz", "error": "not_found"},
            {"id": "d", "key": "d", "value": {"rev": filled["d"], "deleted": True}},
            row(filled, "B"),
        ],
        "total_rows": 5,
    }


def test_all_docs_include_docs_and_update_seq(sync, filled):
    answer = all_docs(sync, include_docs=True, update_seq=True, limit=1)
    assert answer == {
        "rows": [{**row(filled, "B"), "doc": {"_id": "B", "_rev": filled["B"], "name": "B"}}],
        "total_rows": 5,
        "update_seq": sync.info("notes")["update_seq"],
    }


# --- _local -------------------------------------------------------------------------


def test_local_documents(sync):
    sync.create_db("notes")
    status, body = sync.put("notes/_local/checkpoint", {"last_seq": 5})
    assert (status, body) == (201, {"id": "_local/checkpoint", "ok": True, "rev": "0-1"})
    status, body = sync.get("notes/_local/checkpoint")
    assert (status, body) == (200, {"_id": "_local/checkpoint", "_rev": "0-1", "last_seq": 5})
    status, body = sync.put("notes/_local/checkpoint", {"_rev": "0-1", "last_seq": 9})
    assert (status, body) == (201, {"id": "_local/checkpoint", "ok": True, "rev": "0-2"})
    assert sync.put("notes/_local/checkpoint", {"_rev": "0-1", "last_seq": 7}) == (409, CONFLICT)
    assert sync.put("notes/_local/checkpoint", {"last_seq": 7}) == (409, CONFLICT)
    assert sync.get("notes/_local/checkpoint")[1]["last_seq"] == 9
    assert sync.delete("notes/_local/checkpoint", rev="0-1") == (409, CONFLICT)
    status, body = sync.delete("notes/_local/checkpoint", rev="0-2")
    assert status == 200 and body["ok"] is True, body
    assert sync.get("notes/_local/checkpoint") == (404, MISSING)


def test_local_documents_are_never_replicated(sync):
    sync.create_db("notes")
    rev = sync.save("notes", "real", {"v": 1})
    before = sync.changes("notes")
    assert sync.put("notes/_local/cp", {"v": 1})[0] == 201
    assert sync.put("notes/_local/cp", {"_rev": "0-1", "v": 2})[0] == 201
    assert sync.changes("notes") == before
    assert [r["id"] for r in before["results"]] == ["real"]
    assert all_docs(sync) == {
        "rows": [{"id": "real", "key": "real", "value": {"rev": rev}}],
        "total_rows": 1,
    }
    assert sync.info("notes")["doc_count"] == 1


# --- revs_limit -----------------------------------------------------------------------


@pytest.fixture
def limited(app_config):
    application = create_app({**app_config, "CONNECTOR_SYNC_REVS_LIMIT": 3})
    yield SyncClient(application)
    application.extensions["connector.engine"].dispose()


def test_revs_limit_prunes_history(limited):
    limited.create_db("notes")
    revs = [limited.save("notes", "d", {"v": 0})]
    for v in range(1, 8):
        revs.append(limited.save("notes", "d", {"_rev": revs[-1], "v": v}))
    assert_rev(revs[-1], 8)
    doc = limited.doc("notes", "d", revs=True)
    assert doc["_revisions"] == {"start": 8, "ids": [digest(r) for r in revs[:-4:-1]]}
    (entry,) = limited.get("notes/d", open_revs="all", revs=True)[1]
    assert len(entry["ok"]["_revisions"]["ids"]) <= 3
    status, body = limited.post(
        "notes/_bulk_get",
        {"docs": [{"id": "d"}]},
        revs=True,
        headers={"Accept": "application/json"},
    )
    assert status == 200, body
    assert body["results"][0]["docs"][0]["ok"]["_revisions"] == doc["_revisions"]


def test_revs_limit_applies_to_a_replicated_history(limited):
    limited.create_db("notes")
    ids = [f"{n:x}" * 32 for n in range(6, 0, -1)]
    doc = {"_id": "r", "_rev": "6-" + ids[0], "_revisions": {"start": 6, "ids": ids}}
    status, body = limited.post("notes/_bulk_docs", {"docs": [doc], "new_edits": False})
    assert (status, body) == (201, [{"id": "r", "rev": "6-" + ids[0]}])
    assert limited.doc("notes", "r", revs=True)["_revisions"] == {"start": 6, "ids": ids[:3]}
