"""Replication endpoints: _bulk_docs (new_edits true and false), conflicting
branches and the winner, open_revs, latest, _revs_diff and _bulk_get."""

from __future__ import annotations

import json

import pytest
from sync_client import CONFLICT, SyncClient, assert_rev, digest, people, row_of

A, F, ZERO, ONE = "a" * 32, "f" * 32, "0" * 32, "1" * 32


@pytest.fixture
def sync(app):
    return SyncClient(app)


def graft(doc_id, rev, history, **fields):
    """A replicated revision ``rev`` whose ancestors' digests are ``history``."""
    start = int(rev.partition("-")[0])
    ids = [digest(rev), *history]
    return {"_id": doc_id, "_rev": rev, "_revisions": {"start": start, "ids": ids}, **fields}


def leaves(sync, db, doc_id):
    status, body = sync.get(f"{db}/{doc_id}", open_revs="all")
    assert status == 200, body
    assert all(set(entry) == {"ok"} for entry in body), body
    return sorted((entry["ok"] for entry in body), key=lambda d: d["_rev"])


# --- new_edits=true -----------------------------------------------------------------


def test_bulk_docs_new_edits_true(sync):
    sync.create_db("notes")
    first = sync.bulk("notes", [{"_id": "a", "v": 1}, {"v": 2}])
    assert first[0]["id"] == "a"
    for result in first:
        assert set(result) == {"id", "ok", "rev"} and result["ok"] is True, result
        assert_rev(result["rev"], 1)
    generated = first[1]["id"]
    assert isinstance(generated, str) and generated and generated != "a"
    assert sync.doc("notes", generated) == {"_id": generated, "_rev": first[1]["rev"], "v": 2}

    second = sync.bulk(
        "notes",
        [
            {"_id": "a", "v": 3},  # exists, no rev
            {"_id": "b", "v": 1},
            {"_id": generated, "_rev": first[1]["rev"], "v": 4},
            {"_id": "a", "_rev": "1-" + A, "v": 5},  # a rev it never had
        ],
    )
    conflict = {"id": "a", **CONFLICT, "status": 409}
    assert second[0] == conflict
    assert second[3] == conflict
    assert set(second[1]) == {"id", "ok", "rev"} and second[1]["id"] == "b"
    assert_rev(second[1]["rev"], 1)
    assert (second[2]["id"], second[2]["ok"]) == (generated, True)
    assert_rev(second[2]["rev"], 2)
    assert sync.doc("notes", "a") == {"_id": "a", "_rev": first[0]["rev"], "v": 1}
    assert sync.doc("notes", generated)["v"] == 4


def test_bulk_docs_the_same_document_twice(sync):
    sync.create_db("notes")
    first, second = sync.bulk("notes", [{"_id": "x", "v": 1}, {"_id": "x", "v": 2}])
    assert set(first) == {"id", "ok", "rev"} and first["id"] == "x"
    assert_rev(first["rev"], 1)
    assert second == {"id": "x", **CONFLICT, "status": 409}
    assert sync.doc("notes", "x") == {"_id": "x", "_rev": first["rev"], "v": 1}


# --- new_edits=false -----------------------------------------------------------------


def test_bulk_docs_new_edits_false_grafts_history(sync):
    sync.create_db("notes")
    rev3 = "3-" + "c" * 32
    history = ["b" * 32, A]
    results = sync.bulk("notes", [graft("r", rev3, history, v=3)], new_edits=False)
    assert results == [{"id": "r", "rev": rev3}]
    doc = sync.doc("notes", "r", revs=True)
    assert doc == {
        "_id": "r",
        "_rev": rev3,
        "v": 3,
        "_revisions": {"start": 3, "ids": ["c" * 32, *history]},
    }
    seq = sync.info("notes")["update_seq"]
    # Already there: answered with its rev, nothing written.
    again = sync.bulk("notes", [graft("r", rev3, history, v=3)], new_edits=False)
    assert again == [{"id": "r", "rev": rev3}]
    assert sync.info("notes")["update_seq"] == seq
    # A child of a known revision grafts onto it.
    rev4 = "4-" + "d" * 32
    assert sync.bulk("notes", [graft("r", rev4, ["c" * 32, "b" * 32])], new_edits=False) == [
        {"id": "r", "rev": rev4}
    ]
    assert sync.doc("notes", "r", revs=True)["_revisions"] == {
        "start": 4,
        "ids": ["d" * 32, "c" * 32, *history],
    }
    assert [d["_rev"] for d in leaves(sync, "notes", "r")] == [rev4]


def test_put_with_new_edits_false(sync):
    sync.create_db("notes")
    rev = "2-" + F
    doc = graft("p", rev, [A], v=2)
    status, body = sync.put("notes/p", doc, new_edits=False)
    assert (status, body) == (201, {"id": "p", "ok": True, "rev": rev})
    assert sync.doc("notes", "p", revs=True) == {**doc, "_revisions": {"start": 2, "ids": [F, A]}}


def test_new_edits_false_never_conflicts(sync):
    sync.create_db("notes")
    rev1 = sync.save("notes", "d", {"v": 1})
    # A generation-1 sibling, and a branch whose ancestors the server never saw.
    sibling, stranger = "1-" + ZERO, "3-" + F
    results = sync.bulk(
        "notes",
        [{"_id": "d", "_rev": sibling, "v": "s"}, graft("e", stranger, ["9" * 32], v="x")],
        new_edits=False,
    )
    assert results == [{"id": "d", "rev": sibling}, {"id": "e", "rev": stranger}]
    assert sorted(d["_rev"] for d in leaves(sync, "notes", "d")) == sorted([rev1, sibling])
    (result,) = sync.bulk("notes", [graft("d", "2-" + A, [digest(rev1)], v=2)], new_edits=False)
    assert result == {"id": "d", "rev": "2-" + A}


def test_conflicting_branches_and_resolving_them(engine, sync):
    table = people(engine)
    rev1 = sync.save("people", "p", {"name": "base"})
    base = [digest(rev1)]
    results = sync.bulk(
        "people",
        [graft("p", "2-" + A, base, name="A"), graft("p", "2-" + F, base, name="F")],
        new_edits=False,
    )
    assert results == [{"id": "p", "rev": "2-" + A}, {"id": "p", "rev": "2-" + F}]
    assert leaves(sync, "people", "p") == [
        {"_id": "p", "_rev": "2-" + A, "name": "A"},
        {"_id": "p", "_rev": "2-" + F, "name": "F"},
    ]
    # Same generation, both live: the greater digest wins, in the document and the row.
    assert sync.doc("people", "p") == {"_id": "p", "_rev": "2-" + F, "name": "F"}
    assert row_of(engine, table, "p")["name"] == "F"

    status, body = sync.delete("people/p", rev="2-" + A)
    assert status == 200, body
    tombstone = assert_rev(body["rev"], 3)
    assert leaves(sync, "people", "p") == sorted(
        [
            {"_id": "p", "_rev": "2-" + F, "name": "F"},
            {"_id": "p", "_rev": tombstone, "_deleted": True},
        ],
        key=lambda d: d["_rev"],
    )
    assert sync.doc("people", "p") == {"_id": "p", "_rev": "2-" + F, "name": "F"}
    assert row_of(engine, table, "p")["name"] == "F"
    changes = sync.changes("people", style="all_docs")["results"]
    assert [c["id"] for c in changes] == ["p"] and "deleted" not in changes[0]


def test_the_winner_follows_couchdbs_rule(engine, sync):
    table = people(engine)
    rev1 = sync.save("people", "p", {"name": "base"})
    base = [digest(rev1)]
    sync.bulk("people", [graft("p", "2-" + F, base, name="F")], new_edits=False)
    sync.bulk("people", [graft("p", "2-" + A, base, name="A")], new_edits=False)
    assert sync.doc("people", "p")["_rev"] == "2-" + F  # not the newest write
    # A higher generation beats a greater digest.
    sync.bulk("people", [graft("p", "3-" + ZERO, [A, *base], name="A3")], new_edits=False)
    assert sync.doc("people", "p") == {"_id": "p", "_rev": "3-" + ZERO, "name": "A3"}
    assert row_of(engine, table, "p")["name"] == "A3"
    # A live leaf beats a deleted one, whatever its generation.
    tomb = graft("p", "4-" + ONE, [ZERO, A, *base], _deleted=True)
    assert sync.bulk("people", [tomb], new_edits=False) == [{"id": "p", "rev": "4-" + ONE}]
    assert sync.doc("people", "p") == {"_id": "p", "_rev": "2-" + F, "name": "F"}
    assert row_of(engine, table, "p")["name"] == "F"
    # All deleted: the document is gone from the table.
    status, body = sync.delete("people/p", rev="2-" + F)
    assert status == 200, body
    assert sync.get("people/p")[0] == 404
    assert row_of(engine, table, "p") is None


# --- open_revs and latest ----------------------------------------------------------


def test_open_revs_lists_and_reports_missing(sync):
    sync.create_db("notes")
    rev1 = sync.save("notes", "d", {"v": 1})
    rev2 = sync.save("notes", "d", {"_rev": rev1, "v": 2})
    missing = "7-" + A
    status, body = sync.get("notes/d", open_revs=[rev2, missing])
    assert status == 200, body
    assert body == [{"ok": {"_id": "d", "_rev": rev2, "v": 2}}, {"missing": missing}]
    status, body = sync.get("notes/d", open_revs=[rev2], revs=True)
    assert body == [
        {"ok": {"_id": "d", "_rev": rev2, "v": 2, "_revisions": {
            "start": 2, "ids": [digest(rev2), digest(rev1)]}}}
    ]  # fmt: skip
    status, body = sync.get("notes/d", open_revs="[not json")
    assert status == 400 and body["error"] == "bad_request", body


def test_latest_gives_the_leaves_descending_from_a_rev(sync):
    sync.create_db("notes")
    rev1 = sync.save("notes", "d", {"v": 1})
    rev2 = sync.save("notes", "d", {"_rev": rev1, "v": 2})
    status, body = sync.get("notes/d", open_revs=[rev1], latest=True)
    assert (status, body) == (200, [{"ok": {"_id": "d", "_rev": rev2, "v": 2}}])
    status, body = sync.post(
        "notes/_bulk_get",
        {"docs": [{"id": "d", "rev": rev1}]},
        latest=True,
        headers={"Accept": "application/json"},
    )
    assert (status, body) == (
        200,
        {"results": [{"id": "d", "docs": [{"ok": {"_id": "d", "_rev": rev2, "v": 2}}]}]},
    )


# --- _revs_diff and _bulk_get ---------------------------------------------------------


def test_revs_diff(sync):
    sync.create_db("notes")
    rev1 = sync.save("notes", "d", {"v": 1})
    rev2 = sync.save("notes", "d", {"_rev": rev1, "v": 2})
    sync.save("notes", "known", {"v": 1})
    known = sync.doc("notes", "known")["_rev"]
    status, body = sync.post(
        "notes/_revs_diff",
        {"d": [rev1, rev2, "3-" + A, "3-" + F], "known": [known], "new": ["1-" + A]},
    )
    assert status == 200, body
    assert body == {
        "d": {"missing": ["3-" + A, "3-" + F], "possible_ancestors": [rev2]},
        "new": {"missing": ["1-" + A]},
    }


def test_bulk_get_json_in_request_order(sync):
    sync.create_db("notes")
    rev_a = sync.save("notes", "a", {"v": "a"})
    rev_b1 = sync.save("notes", "b", {"v": 1})
    rev_b2 = sync.save("notes", "b", {"_rev": rev_b1, "v": 2})
    wanted = [
        {"id": "b", "rev": rev_b2},
        {"id": "nope"},
        {"id": "a"},
        {"id": "a", "rev": "5-" + A},
    ]
    status, body = sync.post(
        "notes/_bulk_get", {"docs": wanted}, revs=True, headers={"Accept": "application/json"}
    )
    assert status == 200, body
    results = body["results"]
    assert [r["id"] for r in results] == ["b", "nope", "a", "a"]
    assert results[0]["docs"] == [
        {"ok": {"_id": "b", "_rev": rev_b2, "v": 2, "_revisions": {
            "start": 2, "ids": [digest(rev_b2), digest(rev_b1)]}}}
    ]  # fmt: skip
    assert results[2]["docs"] == [
        {"ok": {"_id": "a", "_rev": rev_a, "v": "a", "_revisions": {
            "start": 1, "ids": [digest(rev_a)]}}}
    ]  # fmt: skip
    for result, rev in ((results[1], None), (results[3], "5-" + A)):
        (entry,) = result["docs"]
        assert set(entry) == {"error"}, entry
        error = entry["error"]
        assert (error["id"], error["error"]) == (result["id"], "not_found"), error
        if rev is not None:
            assert error["rev"] == rev, error


def test_bulk_get_multipart_without_json_accept(sync):
    sync.create_db("notes")
    rev_a = sync.save("notes", "a", {"v": "a"})
    response = sync.open("POST", "notes/_bulk_get", {"docs": [{"id": "a", "rev": rev_a}]})
    assert response.status_code == 200
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/mixed"), content_type
    boundary = content_type.split("boundary=")[1].strip('"')
    text = response.get_data(as_text=True)
    parts = [p for p in text.split(f"--{boundary}") if p.strip() not in ("", "--")]
    docs = [json.loads(p.split("\r\n\r\n", 1)[1]) for p in parts]
    assert docs == [{"_id": "a", "_rev": rev_a, "v": "a"}]
