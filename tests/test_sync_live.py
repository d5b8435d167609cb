"""Live feeds over a real HTTP server (longpoll woken by another program's SQL,
continuous, websocket), and capture surviving schema changes, on every backend."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
import simple_websocket
import sqlalchemy as sa
from conftest import API_KEY
from werkzeug.serving import make_server

ADMIN = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


@pytest.fixture
def server(app):
    """The app on a real threaded HTTP server on a free loopback port."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def call(base, method, path, body=None):
    request = urllib.request.Request(
        f"http://{base}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers=ADMIN,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


@pytest.fixture
def notes(server):
    assert call(server, "PUT", "/sync/notes/")[0] == 201
    assert call(server, "PUT", "/sync/notes/n1", {"title": "one"})[0] == 201
    return server


def later(seconds, fn):
    timer = threading.Timer(seconds, fn)
    timer.start()
    return timer


def test_a_longpoll_wakes_for_a_row_written_by_plain_sql(notes, engine):
    table = sa.Table("notes", sa.MetaData(), autoload_with=engine)

    extra = {"title": "from SQL"}
    if not isinstance(table.c.overflow.type, sa.JSON):  # MariaDB's JSON reflects as text
        extra = json.dumps(extra)

    def write():
        with engine.begin() as conn:  # another program, knowing nothing of the connector
            conn.execute(table.insert().values(_id="sql1", overflow=extra))

    timer = later(0.5, write)
    started = time.monotonic()
    status, text = call(
        notes, "GET", "/sync/notes/_changes?feed=longpoll&since=1&include_docs=true"
    )
    timer.join()
    assert status == 200
    answer = json.loads(text)
    assert time.monotonic() - started < 10
    (row,) = answer["results"]
    # The trigger's mark took sequence 2; the revision made from it takes a new one.
    assert row["id"] == "sql1" and row["seq"] == answer["last_seq"] == 3
    assert row["doc"]["title"] == "from SQL"
    assert row["doc"]["_rev"] == row["changes"][0]["rev"]
    assert row["doc"]["_rev"].startswith("1-")


def test_a_longpoll_heartbeat_writes_newlines_then_the_answer(notes):
    status, text = call(
        notes, "GET", "/sync/notes/_changes?feed=longpoll&since=1&timeout=1300&heartbeat=500"
    )
    assert status == 200
    assert text.startswith("\n\n")  # two heartbeats before the timeout
    assert json.loads(text) == {"results": [], "last_seq": 1}


def test_a_continuous_feed_streams_rows_as_they_commit(notes):
    timer = later(0.5, lambda: call(notes, "PUT", "/sync/notes/n2", {"title": "two"}))
    status, text = call(notes, "GET", "/sync/notes/_changes?feed=continuous&timeout=2000")
    timer.join()
    lines = [json.loads(line) for line in text.splitlines() if line]
    assert [line.get("id") for line in lines] == ["n1", "n2", None]
    assert lines[-1] == {"last_seq": 2}


def test_a_websocket_feed_sends_arrays_of_rows(notes):
    ws = simple_websocket.Client.connect(
        f"ws://{notes}/sync/notes/_changes?feed=websocket",
        headers={"Authorization": ADMIN["Authorization"]},
    )
    try:
        ws.send(json.dumps({"since": 0, "include_docs": True}))
        first = json.loads(ws.receive(timeout=10))
        assert [(r["seq"], r["id"], r["doc"]["title"]) for r in first] == [(1, "n1", "one")]
        call(notes, "PUT", "/sync/notes/n2", {"title": "two"})
        second = json.loads(ws.receive(timeout=10))
        assert [(r["seq"], r["id"]) for r in second] == [(2, "n2")]
    finally:
        ws.close()


def test_a_websocket_feed_needs_credentials(notes):
    with pytest.raises(simple_websocket.ConnectionError) as failure:
        simple_websocket.Client.connect(f"ws://{notes}/sync/notes/_changes?feed=websocket")
    assert failure.value.status_code == 401


def test_feed_websocket_over_plain_http_is_a_clear_400(notes):
    with pytest.raises(urllib.error.HTTPError) as failure:
        call(notes, "GET", "/sync/notes/_changes?feed=websocket")
    assert failure.value.code == 400
    assert json.loads(failure.value.read())["error"] == "bad_request"


def test_capture_survives_a_schema_change_and_ends_with_the_collection(api, engine):
    client = api.app.test_client()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    assert client.put("/sync/notes/", headers=headers).status_code == 201
    spec = {
        "id": "notes",
        "fields": [{"key": "overflow", "type": "OBJECT"}, {"key": "stars", "type": "NUMBER"}],
    }
    status, _ = api.post("/v3/collections/update", {"collection": spec})
    assert status == 200
    table = sa.Table("notes", sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:  # SQLite rebuilt the table: its triggers must be back
        conn.execute(table.insert().values(_id="after", stars=5))
    changes = client.get("/sync/notes/_changes?include_docs=true", headers=headers).get_json()
    assert [(r["id"], r["doc"].get("stars")) for r in changes["results"]] == [("after", 5)]
    # A document now may carry the new column.
    assert client.put("/sync/notes/d", json={"stars": 2}, headers=headers).status_code == 201
    # Deleting the collection forgets its history: made again, it starts over.
    assert client.delete("/sync/notes/", headers=headers).status_code == 200
    assert client.put("/sync/notes/", headers=headers).status_code == 201
    info = client.get("/sync/notes/", headers=headers).get_json()
    assert (info["doc_count"], info["update_seq"]) == (0, 0)
