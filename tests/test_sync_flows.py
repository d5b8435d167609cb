"""The seed guide's export and attachment flows ("Integrating External Stores"),
end to end over a real HTTP server, on every backend."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request

import pytest
from conftest import API_KEY
from werkzeug.serving import make_server

MOVIES = [
    {
        "_id": f"movie{n}",
        "title": title,
        "year": year,
        "genres": genres,
        "posters": {"thumbnail": f"http://posters.example/{n}.jpg"},
    }
    for n, (title, year, genres) in enumerate(
        [
            ("The Grand Budapest Hotel", 2014, ["Comedy", "Drama"]),
            ("Spirited Away", 2001, ["Animation"]),
            ("Paddington 2", 2017, []),
        ]
    )
]


@pytest.fixture
def base(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def call(base, method, path, body=None, *, raw=False):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        data = response.read()
        return (response.status, response.headers, data) if raw else json.loads(data)


def test_export_follows_a_longpoll_feed_into_an_external_store(base):
    """Flow 2: get update_seq, follow longpoll feeds with include_docs from it, and
    write every document to the external store; the changes come from the Wix API."""
    assert call(base, "PUT", "/sync/movies_lister/")["ok"] is True
    call(base, "POST", "/sync/movies_lister/_bulk_docs", {"docs": MOVIES})
    store = {m["_id"]: dict(m) for m in MOVIES}
    since = call(base, "GET", "/sync/movies_lister/")["update_seq"]
    assert since == 3
    done = threading.Event()
    exported = []

    def exporter(seq):
        while not done.is_set():
            path = f"/sync/movies_lister/_changes?feed=longpoll&since={seq}&include_docs=true"
            answer = call(base, "GET", path + "&timeout=2000")
            for row in answer["results"]:
                exported.append(row["id"])
                if row.get("deleted"):
                    store.pop(row["id"], None)
                else:
                    store[row["id"]] = row["doc"]
            seq = answer["last_seq"]

    thread = threading.Thread(target=exporter, args=(since,), daemon=True)
    thread.start()
    wix = "/v3/items/"
    item = call(base, "POST", wix + "query", {"collectionId": "movies_lister", "query": {}})
    paddington = next(i for i in item["items"] if i["_id"] == "movie2")
    paddington["overflow"]["year"] = 2018
    call(base, "POST", wix + "update", {"collectionId": "movies_lister", "items": [paddington]})
    new = {"_id": "movie9", "overflow": {"title": "Aftersun", "year": 2022}}
    call(base, "POST", wix + "insert", {"collectionId": "movies_lister", "items": [new]})
    call(base, "POST", wix + "remove", {"collectionId": "movies_lister", "itemIds": ["movie1"]})
    deadline = threading.Event()
    for _ in range(100):
        if sorted(exported) == ["movie1", "movie2", "movie9"]:
            break
        deadline.wait(0.1)
    done.set()
    thread.join(5)
    assert sorted(exported) == ["movie1", "movie2", "movie9"]
    assert sorted(store) == ["movie0", "movie2", "movie9"]
    assert store["movie2"]["year"] == 2018
    assert store["movie2"]["_rev"].startswith("2-")
    assert store["movie2"]["posters"] == {"thumbnail": "http://posters.example/2.jpg"}
    assert {k: v for k, v in store["movie9"].items() if k != "_rev"} == {
        "_id": "movie9",
        "title": "Aftersun",
        "year": 2022,
    }


def test_import_with_base64_attachments_and_read_each_back_raw(base):
    """Flow 3: thumbnails embedded as base64 under _attachments in one _bulk_docs,
    then each read at /{db}/{doc}/{attachment}/ as the guide links it."""
    assert call(base, "PUT", "/sync/movies_lister/")["ok"] is True
    thumbnails = {m["_id"]: bytes([n]) * (100 + n) + b"\xff\xd8jpeg" for n, m in enumerate(MOVIES)}
    docs = [
        {
            **m,
            "_attachments": {
                "image": {
                    "content_type": "image/jpg",
                    "data": base64.b64encode(thumbnails[m["_id"]]).decode(),
                }
            },
        }
        for m in MOVIES
    ]
    results = call(base, "POST", "/sync/movies_lister/_bulk_docs", {"docs": docs})
    assert [(r["id"], r["rev"][:2]) for r in results] == [(m["_id"], "1-") for m in MOVIES]
    for movie in MOVIES:
        doc = call(base, "GET", f"/sync/movies_lister/{movie['_id']}")
        stub = doc["_attachments"]["image"]
        assert stub["content_type"] == "image/jpg"
        assert stub["length"] == len(thumbnails[movie["_id"]])
        assert stub["stub"] is True and stub["revpos"] == 1
        for path in (f"{movie['_id']}/image/", f"{movie['_id']}/image"):
            status, headers, data = call(base, "GET", f"/sync/movies_lister/{path}", raw=True)
            assert status == 200
            assert headers["Content-Type"] == "image/jpg"
            assert data == thumbnails[movie["_id"]]
    with pytest.raises(urllib.error.HTTPError) as missing:
        call(base, "GET", "/sync/movies_lister/movie0/poster")
    assert missing.value.code == 404
    assert json.loads(missing.value.read()) == {"error": "not_found", "reason": "missing"}
