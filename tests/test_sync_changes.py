"""The changes feed: normal, longpoll and continuous; and row changes made by the
Wix API or by plain SQL becoming revisions."""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlalchemy as sa
from conftest import Client
from sync_client import CONFLICT, DELETED, SyncClient, assert_error, assert_rev, people


@pytest.fixture
def sync(app):
    return SyncClient(app)


@pytest.fixture
def notes(sync):
    """notes: a (updated once), b, c (deleted); their revs and the db's update_seq."""
    sync.create_db("notes")
    revs = {"a": sync.save("notes", "a", {"v": 1})}
    revs["b"] = sync.save("notes", "b", {"v": 1})
    revs["a"] = sync.save("notes", "a", {"_rev": revs["a"], "v": 2})
    rev_c = sync.save("notes", "c", {"v": 1})
    status, body = sync.delete("notes/c", rev=rev_c)
    assert status == 200, body
    revs["c"] = body["rev"]
    return revs


def seqs(rows):
    found = [row["seq"] for row in rows]
    assert all(isinstance(s, int) for s in found), found
    assert found == sorted(set(found)), found
    return found


def strip_seqs(rows):
    return [{k: v for k, v in row.items() if k != "seq"} for row in rows]


# --- the normal feed ---------------------------------------------------------------


def test_each_document_once_at_its_latest_change(sync, notes):
    feed = sync.changes("notes")
    assert strip_seqs(feed["results"]) == [
        {"id": "b", "changes": [{"rev": notes["b"]}]},
        {"id": "a", "changes": [{"rev": notes["a"]}]},
        {"id": "c", "changes": [{"rev": notes["c"]}], "deleted": True},
    ]
    assert feed["last_seq"] == seqs(feed["results"])[-1] == sync.info("notes")["update_seq"]


def test_since_is_strictly_after(sync, notes):
    feed = sync.changes("notes")
    first, second, third = seqs(feed["results"])
    after = sync.changes("notes", since=first)
    assert after == {"results": feed["results"][1:], "last_seq": third}
    assert sync.changes("notes", since=third) == {"results": [], "last_seq": third}


def test_limit_ends_at_the_last_row(sync, notes):
    feed = sync.changes("notes")
    page = sync.changes("notes", limit=1)
    assert page == {"results": feed["results"][:1], "last_seq": feed["results"][0]["seq"]}
    rest = sync.changes("notes", since=page["last_seq"], limit=5)
    assert rest == {"results": feed["results"][1:], "last_seq": feed["last_seq"]}


def test_include_docs(sync, notes):
    rows = sync.changes("notes", include_docs=True)["results"]
    assert [row["doc"] for row in rows] == [
        {"_id": "b", "_rev": notes["b"], "v": 1},
        {"_id": "a", "_rev": notes["a"], "v": 2},
        {"_id": "c", "_rev": notes["c"], "_deleted": True},
    ]


def test_filter_doc_ids_by_get_and_post(sync, notes):
    rows = sync.changes("notes", filter="_doc_ids", doc_ids=["a", "zz"])["results"]
    assert strip_seqs(rows) == [{"id": "a", "changes": [{"rev": notes["a"]}]}]
    posts = [
        ({}, {"filter": "_doc_ids", "doc_ids": ["b"]}),
        ({"filter": "_doc_ids"}, {"doc_ids": ["b"]}),
    ]
    for query, body in posts:
        status, answer = sync.post("notes/_changes", body, **query)
        assert status == 200, answer
        assert strip_seqs(answer["results"]) == [{"id": "b", "changes": [{"rev": notes["b"]}]}]
    status, body = sync.get("notes/_changes", filter="_doc_ids")
    assert_error(status, body, 400, "bad_request")


def test_active_only_omits_deletions(sync, notes):
    rows = sync.changes("notes", active_only=True)["results"]
    assert [row["id"] for row in rows] == ["b", "a"]


def test_style_all_docs_lists_every_leaf(sync, notes):
    base = notes["b"].partition("-")[2]
    branch = {
        "_id": "b",
        "_rev": "2-" + "a" * 32,
        "_revisions": {"start": 2, "ids": ["a" * 32, base]},
        "v": "branch",
    }
    sync.bulk("notes", [branch], new_edits=False)
    winner = sync.doc("notes", "b")["_rev"]
    assert winner == branch["_rev"]
    (row,) = [r for r in sync.changes("notes")["results"] if r["id"] == "b"]
    assert row["changes"] == [{"rev": winner}]
    (row,) = [r for r in sync.changes("notes", style="all_docs")["results"] if r["id"] == "b"]
    # The new leaf was a graft onto b's only revision: b still has one leaf.
    assert row["changes"] == [{"rev": winner}]
    sibling = {"_id": "b", "_rev": "1-" + "0" * 32, "v": "sibling"}
    sync.bulk("notes", [sibling], new_edits=False)
    (row,) = [r for r in sync.changes("notes", style="all_docs")["results"] if r["id"] == "b"]
    assert sorted(c["rev"] for c in row["changes"]) == sorted([winner, sibling["_rev"]])
    assert row["changes"][0] == {"rev": winner}


@pytest.mark.parametrize(
    "query",
    [{"feed": "sometimes"}, {"style": "most"}, {"since": "yesterday"}, {"limit": -1}],
)
def test_bad_parameters_are_bad_request(sync, query):
    sync.create_db("notes")
    status, body = sync.get("notes/_changes", **query)
    assert_error(status, body, 400, "bad_request")


# --- row changes become revisions ------------------------------------------------------


def test_wix_api_writes_become_revisions(engine, sync, api):
    people(engine)
    assert sync.changes("people") == {"results": [], "last_seq": 0}
    status, body = api.post(
        "/v3/items/insert", {"collectionId": "people", "items": [{"_id": "p1", "name": "Ann"}]}
    )
    assert status == 200, body
    (row,) = sync.changes("people")["results"]
    rev1 = assert_rev(row["changes"][0]["rev"], 1)
    assert sync.doc("people", "p1") == {"_id": "p1", "_rev": rev1, "name": "Ann"}

    since = row["seq"]
    item = {"_id": "p1", "name": "Ann", "age": 31}
    assert api.post("/v3/items/update", {"collectionId": "people", "items": [item]})[0] == 200
    (row,) = sync.changes("people", since=since)["results"]
    rev2 = assert_rev(row["changes"][0]["rev"], 2)
    assert sync.doc("people", "p1", revs=True)["_revisions"]["ids"][1] == rev1.partition("-")[2]
    assert sync.doc("people", "p1") == {"_id": "p1", "_rev": rev2, "name": "Ann", "age": 31}

    since = row["seq"]
    assert api.post("/v3/items/remove", {"collectionId": "people", "itemIds": ["p1"]})[0] == 200
    (row,) = sync.changes("people", since=since)["results"]
    assert row["deleted"] is True and row["id"] == "p1"
    tombstone = assert_rev(row["changes"][0]["rev"], 3)
    assert sync.get("people/p1") == (404, DELETED)
    assert sync.doc("people", "p1", rev=tombstone) == {
        "_id": "p1",
        "_rev": tombstone,
        "_deleted": True,
    }


def test_plain_sql_writes_become_revisions(engine, sync):
    table = people(engine)
    sync.get("people/")  # the collection is tracked from here on
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"_id": "p1", "name": "Ann"}, {"_id": "p2", "name": "Bo"}])
    feed = sync.changes("people")
    assert [r["id"] for r in feed["results"]] == ["p1", "p2"]
    rev1 = assert_rev(sync.doc("people", "p1")["_rev"], 1)
    assert sync.doc("people", "p1") == {"_id": "p1", "_rev": rev1, "name": "Ann"}

    with engine.begin() as conn:
        conn.execute(table.update().where(table.c._id == "p1").values(age=5, active=True))
    (row,) = sync.changes("people", since=feed["last_seq"])["results"]
    rev2 = assert_rev(row["changes"][0]["rev"], 2)
    assert sync.doc("people", "p1") == {
        "_id": "p1",
        "_rev": rev2,
        "name": "Ann",
        "age": 5,
        "active": True,
    }

    since = row["seq"]
    with engine.begin() as conn:
        conn.execute(table.delete().where(table.c._id == "p1"))
    (row,) = sync.changes("people", since=since)["results"]
    assert (row["id"], row["deleted"]) == ("p1", True)
    assert_rev(row["changes"][0]["rev"], 3)
    assert sync.get("people/p1") == (404, DELETED)


def test_a_plain_sql_key_change_deletes_one_doc_and_makes_another(engine, sync):
    table = people(engine, [{"_id": "old", "name": "Cy"}])
    old_rev = sync.doc("people", "old")["_rev"]
    since = sync.changes("people")["last_seq"]
    with engine.begin() as conn:
        conn.execute(table.update().where(table.c._id == "old").values(_id="new"))
    rows = {r["id"]: r for r in sync.changes("people", since=since)["results"]}
    assert set(rows) == {"old", "new"}
    assert rows["old"]["deleted"] is True
    assert_rev(rows["old"]["changes"][0]["rev"], 2)
    assert (
        sync.doc("people", "old", revs=True, rev=rows["old"]["changes"][0]["rev"])["_revisions"][
            "ids"
        ][1]
        == old_rev.partition("-")[2]
    )
    new_rev = assert_rev(rows["new"]["changes"][0]["rev"], 1)
    assert sync.doc("people", "new") == {"_id": "new", "_rev": new_rev, "name": "Cy"}


def test_a_row_changed_by_sql_makes_the_clients_rev_stale(engine, sync):
    table = people(engine, [{"_id": "p1", "name": "Ann", "age": None}])
    rev1 = sync.doc("people", "p1")["_rev"]
    with engine.begin() as conn:
        conn.execute(table.update().where(table.c._id == "p1").values(name="Sql"))
    assert sync.put("people/p1", {"_rev": rev1, "name": "Client"}) == (409, CONFLICT)
    doc = sync.doc("people", "p1")
    assert doc == {"_id": "p1", "_rev": doc["_rev"], "name": "Sql"}
    rev3 = sync.save("people", "p1", {"_rev": doc["_rev"], "name": "Client"})
    assert_rev(rev3, 3)


def test_a_wix_insert_after_a_sync_delete_grows_the_tombstone(sync, api):
    sync.create_db("notes")
    rev1 = sync.save("notes", "n", {"v": 1})
    assert sync.delete("notes/n", rev=rev1)[0] == 200
    item = {"_id": "n", "overflow": {"v": 2}}
    assert api.post("/v3/items/insert", {"collectionId": "notes", "items": [item]})[0] == 200
    doc = sync.doc("notes", "n")
    assert doc == {"_id": "n", "_rev": doc["_rev"], "v": 2}
    assert_rev(doc["_rev"], 3)


def test_a_replicated_losing_revision_gets_a_new_seq(sync, notes):
    before = sync.changes("notes")["last_seq"]
    loser = {"_id": "b", "_rev": "1-" + "0" * 32, "v": "loser"}
    assert sync.bulk("notes", [loser], new_edits=False) == [{"id": "b", "rev": loser["_rev"]}]
    assert sync.doc("notes", "b")["_rev"] == notes["b"]  # still the winner
    rows = sync.changes("notes", since=before)["results"]
    assert strip_seqs(rows) == [{"id": "b", "changes": [{"rev": notes["b"]}]}]
    assert rows[0]["seq"] > before


def test_rows_from_before_the_first_sync_call_are_generation_one(engine, sync):
    people(
        engine, [{"_id": "p1", "name": "Ann", "age": 30}, {"_id": "p2", "name": "Bo", "age": None}]
    )
    feed = sync.changes("people")
    assert [r["id"] for r in feed["results"]] == ["p1", "p2"]
    for row in feed["results"]:
        assert_rev(row["changes"][0]["rev"], 1)
    rev = feed["results"][0]["changes"][0]["rev"]
    assert sync.doc("people", "p1") == {"_id": "p1", "_rev": rev, "name": "Ann", "age": 30}
    assert sync.info("people")["doc_count"] == 2


# --- live feeds ---------------------------------------------------------------------


def test_longpoll_with_nothing_new_times_out(sync, notes):
    last = sync.changes("notes")["last_seq"]
    started = time.monotonic()
    status, body = sync.get("notes/_changes", feed="longpoll", since=last, timeout=300)
    elapsed = time.monotonic() - started
    assert (status, body) == (200, {"results": [], "last_seq": last})
    assert 0.25 <= elapsed < 5, elapsed


def test_longpoll_with_a_heartbeat_still_answers_json(sync, notes):
    last = sync.changes("notes")["last_seq"]
    response = sync.open(
        "GET", "notes/_changes", feed="longpoll", since=last, timeout=400, heartbeat=100
    )
    assert response.status_code == 200
    assert json.loads(response.get_data(as_text=True)) == {"results": [], "last_seq": last}


def test_longpoll_answers_at_once_when_there_are_changes(sync, notes):
    started = time.monotonic()
    body = sync.changes("notes", feed="longpoll", timeout=10_000)
    assert time.monotonic() - started < 5
    assert body == sync.changes("notes")


def test_longpoll_returns_a_change_made_meanwhile(app, sync, notes):
    last = sync.changes("notes")["last_seq"]
    writer = Client(app)
    done = {}

    def write():
        time.sleep(0.5)
        item = {"_id": "late", "overflow": {"v": 9}}
        done["insert"] = writer.post("/v3/items/insert", {"collectionId": "notes", "items": [item]})

    thread = threading.Thread(target=write)
    started = time.monotonic()
    thread.start()
    try:
        status, body = sync.get("notes/_changes", feed="longpoll", since=last, timeout=20_000)
    finally:
        thread.join()
    elapsed = time.monotonic() - started
    assert done["insert"][0] == 200, done
    assert status == 200, body
    assert [r["id"] for r in body["results"]] == ["late"], body
    assert body["last_seq"] == body["results"][-1]["seq"] > last
    assert 0.4 <= elapsed < 15, elapsed
    assert sync.doc("notes", "late")["v"] == 9


def test_continuous_feed_is_json_lines_ending_with_last_seq(sync, notes):
    response = sync.open("GET", "notes/_changes", feed="continuous", timeout=300)
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines() if line]
    feed = sync.changes("notes")
    assert lines == [*feed["results"], {"last_seq": feed["last_seq"]}]
    since = feed["last_seq"]
    response = sync.open("GET", "notes/_changes", feed="continuous", since=since, timeout=300)
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines() if line]
    assert lines == [{"last_seq": feed["last_seq"]}]


def test_changes_of_a_missing_database_are_not_found(sync):
    status, body = sync.get("nowhere/_changes")
    assert_error(status, body, 404, "not_found")


def test_deleted_sql_row_keeps_a_tombstone_in_the_feed(engine, sync):
    table = people(engine, [{"_id": "p1", "name": "Ann"}])
    sync.get("people/")
    with engine.begin() as conn:
        conn.execute(sa.delete(table))
    rows = sync.changes("people")["results"]
    assert strip_seqs(rows) == [
        {"id": "p1", "changes": [{"rev": rows[0]["changes"][0]["rev"]}], "deleted": True}
    ]
    assert_rev(rows[0]["changes"][0]["rev"], 2)
