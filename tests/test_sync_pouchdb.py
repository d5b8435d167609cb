"""End to end with a real replication client: PouchDB 9 against the connector.

The connector runs under gunicorn with the shipped ``gunicorn.conf.py`` (as it is
deployed), on each backend; PouchDB (in-memory databases, ``tests/pouchdb``) is
driven over a JSON-lines session by ``tests/pouchdb/driver.js``. Every result is
checked from here on both sides: what PouchDB holds, what ``/sync`` serves and
what the Wix items API returns.

The Node packages come from ``npm ci --prefix tests/pouchdb`` (``.ci/run`` does
it). Without them the tests skip loudly, and fail under ``CI=true``.
When a test fails, the captured teardown output shows every request PouchDB made
(with the server's answer) and the tail of gunicorn's log.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import API_KEY, IN_CI, SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "pouchdb"
DRIVER = NODE_DIR / "driver.js"
NODE_PACKAGES = ("pouchdb", "pouchdb-adapter-memory")

#: "Within a few seconds" for live replication, and a bound for one-shot steps.
LIVE_DEADLINE = 10.0
STEP_TIMEOUT = 60.0
START_TIMEOUT = 60.0


# --- the Node side -----------------------------------------------------------------


def _node_or_skip() -> str:
    node = shutil.which("node")
    missing = [p for p in NODE_PACKAGES if not (NODE_DIR / "node_modules" / p).is_dir()]
    if node and not missing:
        return node
    if not node:
        problem = "node is not on PATH"
    else:
        problem = (
            f"{', '.join(missing)} not installed in {NODE_DIR / 'node_modules'} "
            "(run: npm ci --prefix tests/pouchdb)"
        )
    message = f"PouchDB end-to-end tests cannot run: {problem}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(f"SKIPPED LOUDLY: {message}")


class DriverError(Exception):
    """A PouchDB call that rejected; ``error`` is PouchDB's error as JSON."""

    def __init__(self, op, error):
        super().__init__(f"{op}: {json.dumps(error)[:2000]}")
        self.op, self.error = op, error


class Pouch:
    """One ``driver.js`` process: ``call(op, **args)`` sends a command, returns its result."""

    def __init__(self, node: str, log_path: Path):
        self.log_path = log_path
        self._stderr = open(log_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [node, str(DRIVER)],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        self._ids = itertools.count(1)
        self._answers: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.strip():
                self._answers.put(json.loads(line))
        self._answers.put(None)

    def call(self, op, timeout=STEP_TIMEOUT, **args):
        request_id = next(self._ids)
        self.proc.stdin.write(json.dumps({"id": request_id, "op": op, **args}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"PouchDB {op} {args} gave no answer in {timeout} s")
            try:
                answer = self._answers.get(timeout=left)
            except queue.Empty:
                continue
            if answer is None:
                raise AssertionError(
                    f"driver.js exited ({self.proc.poll()}): {self.log_path.read_text()[-3000:]}"
                )
            if answer["id"] != request_id:
                continue  # the answer to a call that timed out earlier
            if not answer["ok"]:
                raise DriverError(op, answer["error"])
            return answer["result"]

    def get(self, db, doc_id, **options):
        """The document, or None when PouchDB says 404 (missing or deleted)."""
        try:
            return self.call("get", db=db, docId=doc_id, options=options)
        except DriverError as exc:
            if exc.error.get("status") == 404:
                return None
            raise

    def requests(self):
        with contextlib.suppress(Exception):
            return self.call("requests", timeout=5)
        return []

    def close(self):
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


# --- the connector under gunicorn ----------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The connector under gunicorn on a loopback port, with small HTTP helpers."""

    def __init__(self, database_url: str, log_path: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CONNECTOR_API_KEY": API_KEY,
            "CONNECTOR_SECRET_KEY": SECRET_KEY,
            # Two workers: a live feed in one must see writes made through the other.
            "WEB_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PORT", None)
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        # The shipped config binds 0.0.0.0:$PORT; the command line keeps it on loopback.
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "app:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def sync_url(self, db: str) -> str:
        return f"http://admin:{API_KEY}@127.0.0.1:{self.port}/sync/{db}"

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                status, _, _ = self.http("GET", "/sync/", auth=False, timeout=2)
                if status == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"gunicorn did not answer in {START_TIMEOUT} s:\n{self.log_tail()}")

    def http(self, method, path, body=None, *, auth=True, headers=None, timeout=30):
        """(status, headers, raw bytes); ``body`` a dict is sent as JSON."""
        headers = dict(headers or {})
        data = None
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = body
        if auth:
            token = base64.b64encode(f"admin:{API_KEY}".encode()).decode()
            headers.setdefault("Authorization", f"Basic {token}")
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def sync(self, method, path, body=None):
        """A /sync request; (status, parsed JSON)."""
        status, _, raw = self.http(method, "/sync" + path, body)
        return status, json.loads(raw) if raw else None

    def wix(self, op, request):
        """POST /v3/items/{op} with the API key; (status, parsed JSON)."""
        status, _, raw = self.http(
            "POST",
            f"/v3/items/{op}",
            request,
            auth=False,
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        return status, json.loads(raw) if raw else None

    def items(self, collection_id) -> dict:
        """Every item of the collection through the Wix API, by ``_id``."""
        status, body = self.wix(
            "query", {"collectionId": collection_id, "query": {"paging": {"limit": 1000}}}
        )
        assert status == 200, body
        return {item["_id"]: item for item in body["items"]}

    def log_tail(self, size=6000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-size:]
        return ""

    def stop(self):
        if self.proc.poll() is None:
            # SIGINT is gunicorn's quick shutdown, but a worker still finishes the
            # request it is in, and a held live feed only notices at its next
            # heartbeat: past a few seconds, end the server's process group.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def _exchange_lines(exchanges) -> str:
    lines = []
    for n, e in enumerate(exchanges):
        lines.append(
            f"[{n}] {e.get('method')} {e.get('url')} -> {e.get('status', e.get('fetchError'))}"
            f" ({e.get('contentType')})"
        )
        if e.get("body"):
            lines.append(f"      request:  {e['body'][:1500]}")
        if e.get("response") is not None:
            lines.append(f"      response: {e['response'][:1500]}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def node():
    return _node_or_skip()


@pytest.fixture
def server(node, database_url, tmp_path):
    srv = Server(database_url, tmp_path / "gunicorn.log")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()
        # Shown by pytest only when the test failed.
        print(f"--- gunicorn log ({srv.log_path}), tail ---\n{srv.log_tail()}")


@pytest.fixture
def pouch(node, server, tmp_path):
    driver = Pouch(node, tmp_path / "driver.log")
    try:
        yield driver
    finally:
        exchanges = driver.requests()
        driver.close()
        (tmp_path / "pouchdb-requests.json").write_text(json.dumps(exchanges, indent=1))
        print(f"--- what PouchDB requested ({len(exchanges)} exchanges) ---")
        print(_exchange_lines(exchanges))
        print(f"--- driver.js stderr ---\n{driver.log_path.read_text(errors='replace')[-3000:]}")


# --- helpers ---------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_collection(server, db):
    status, body = server.sync("PUT", f"/{db}/")
    assert status == 201, body


def wix_ok(server, op, request):
    status, body = server.wix(op, request)
    assert status == 200, (op, status, body)
    return body


def wait_for(what, check, deadline=LIVE_DEADLINE, interval=0.1):
    """Poll ``check()`` until it returns a truthy value; AssertionError past the deadline."""
    end = time.monotonic() + deadline
    last = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= end:
            raise AssertionError(f"{what}: not seen within {deadline} s (last: {last!r})")
        time.sleep(interval)


def assert_replicated(result, written=None):
    assert result["ok"] is True, result
    assert result["doc_write_failures"] == 0, result
    assert not result.get("errors"), result
    if written is not None:
        assert result["docs_written"] == written, result


def assert_no_server_errors(pouch):
    """No request PouchDB made was answered with a 5xx or lost (a live sync retries
    past them); PouchDB cancelling its own long poll is not a failure."""
    failed = [
        e
        for e in pouch.requests()
        if e.get("status", 0) >= 500 or ("fetchError" in e and e["fetchErrorName"] != "AbortError")
    ]
    assert not failed, "server errors PouchDB got:\n" + _exchange_lines(failed)


def user_fields(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def winner(*revs):
    """CouchDB's winner among live leaves: the higher generation, then the greater digest."""
    return max(revs, key=lambda r: (int(r.split("-", 1)[0]), r.split("-", 1)[1]))


def leaves(server, db, doc_id):
    """{rev: doc} of every leaf the server has (open_revs=all)."""
    status, _, raw = server.http(
        "GET",
        f"/sync/{db}/{doc_id}?open_revs=all&revs=true",
        headers={"Accept": "application/json"},
    )
    assert status == 200, raw
    found = {}
    for entry in json.loads(raw):
        assert "ok" in entry, entry
        found[entry["ok"]["_rev"]] = entry["ok"]
    return found


# --- 1. push one-shot ----------------------------------------------------------------------


def test_push_one_shot(server, pouch):
    hello = b"hello, world\n"
    pouch.call("open", name="local")
    pouch.call("open", name="remote", url=server.sync_url("notes"))
    written = pouch.call(
        "bulk",
        db="local",
        docs=[
            {"_id": "p1", "title": "one", "n": 1},
            {"_id": "p2", "title": "two", "tags": ["a", "b"], "nested": {"x": 1.5, "ok": True}},
            {
                "_id": "p3",
                "title": "with a file",
                "_attachments": {"hello.txt": {"content_type": "text/plain", "data": b64(hello)}},
            },
            {"_id": "p4", "title": "soon gone"},
        ],
    )
    revs = {r["id"]: r["rev"] for r in written}
    gone = pouch.call("remove", db="local", docId="p4", rev=revs["p4"])
    assert gone["ok"] is True

    # PouchDB creates the database itself (GET /notes/ 404, then PUT /notes/).
    assert_replicated(pouch.call("replicate", source="local", target="remote"), written=4)
    made = [
        (e["method"], e["status"])
        for e in pouch.requests()
        if e["url"].endswith("/sync/notes/") and e["method"] == "PUT"
    ]
    assert made == [("PUT", 201)], made

    items = server.items("notes")
    assert set(items) == {"p1", "p2", "p3"}, items
    assert items["p1"]["overflow"] == {"title": "one", "n": 1}
    assert items["p2"]["overflow"] == {
        "title": "two",
        "tags": ["a", "b"],
        "nested": {"x": 1.5, "ok": True},
    }
    assert items["p3"]["overflow"] == {"title": "with a file"}

    status, doc = server.sync("GET", "/notes/p1")
    assert status == 200, doc
    assert doc == {"_id": "p1", "_rev": revs["p1"], "title": "one", "n": 1}
    status, doc = server.sync("GET", "/notes/p2")
    assert status == 200, doc
    assert user_fields(doc) == {
        "title": "two",
        "tags": ["a", "b"],
        "nested": {"x": 1.5, "ok": True},
    }

    status, doc = server.sync("GET", "/notes/p3")
    assert status == 200, doc
    assert doc["_rev"] == revs["p3"]
    stub = doc["_attachments"]["hello.txt"]
    assert stub["stub"] is True and stub["length"] == len(hello), stub
    assert stub["content_type"] == "text/plain", stub
    local_stub = pouch.call("get", db="local", docId="p3")["_attachments"]["hello.txt"]
    assert stub["digest"] == local_stub["digest"], (stub, local_stub)

    status, headers, raw = server.http("GET", "/sync/notes/p3/hello.txt")
    assert status == 200, raw
    assert raw == hello
    assert headers["Content-Type"].startswith("text/plain"), headers["Content-Type"]

    status, body = server.sync("GET", "/notes/p4")
    assert status == 404 and body["reason"] == "deleted", body

    # The checkpoint holds: a second run has nothing to send.
    assert_replicated(pouch.call("replicate", source="local", target="remote"), written=0)
    assert_no_server_errors(pouch)


# --- 2. pull one-shot ----------------------------------------------------------------------


def test_pull_one_shot(server, pouch):
    picture = bytes(range(256))
    make_collection(server, "notes")
    inserted = wix_ok(
        server,
        "insert",
        {
            "collectionId": "notes",
            "items": [
                {"_id": "w1", "overflow": {"title": "x", "n": 1}},
                {"_id": "w2", "overflow": {"title": "y", "tags": ["a"]}},
                {"_id": "w3", "overflow": {"title": "z"}},
            ],
        },
    )
    assert all("item" in r for r in inserted["results"]), inserted
    wix_ok(
        server,
        "update",
        {"collectionId": "notes", "items": [{"_id": "w2", "overflow": {"title": "y2"}}]},
    )
    wix_ok(server, "remove", {"collectionId": "notes", "itemIds": ["w3"]})
    status, body = server.sync(
        "PUT",
        "/notes/a1",
        {
            "title": "picture",
            "_attachments": {"p.bin": {"content_type": "image/png", "data": b64(picture)}},
        },
    )
    assert status == 201, body

    pouch.call("open", name="local")
    pouch.call("open", name="remote", url=server.sync_url("notes"))
    assert_replicated(pouch.call("replicate", source="remote", target="local"))

    docs = {d["_id"]: d for d in pouch.call("all", db="local")}
    assert set(docs) == {"w1", "w2", "a1"}, docs
    assert user_fields(docs["w1"]) == {"title": "x", "n": 1}
    assert user_fields(docs["w2"]) == {"title": "y2"}
    assert docs["w2"]["_rev"].startswith("2-"), docs["w2"]
    assert "_conflicts" not in docs["w1"] and "_conflicts" not in docs["w2"]
    assert user_fields(docs["a1"]) == {"title": "picture"}

    for doc_id in ("w1", "w2", "a1"):
        status, remote = server.sync("GET", f"/notes/{doc_id}")
        assert status == 200, remote
        assert remote["_rev"] == docs[doc_id]["_rev"], (remote, docs[doc_id])

    # w3 came over as its tombstone.
    try:
        pouch.call("get", db="local", docId="w3")
        raise AssertionError("w3 should be deleted in PouchDB")
    except DriverError as exc:
        assert exc.error.get("status") == 404 and exc.error.get("reason") == "deleted", exc.error

    att = pouch.call("get", db="local", docId="a1", options={"attachments": True})
    data = att["_attachments"]["p.bin"]
    assert base64.b64decode(data["data"]) == picture
    assert data["content_type"] == "image/png"
    assert_no_server_errors(pouch)


# --- 3. conflicts ---------------------------------------------------------------------------


def test_conflicts(server, pouch):
    make_collection(server, "notes")
    pouch.call("open", name="local")
    pouch.call("open", name="remote", url=server.sync_url("notes"))
    base = {
        r["id"]: r["rev"]
        for r in pouch.call(
            "bulk", db="local", docs=[{"_id": "c1", "v": "base"}, {"_id": "c2", "v": "base"}]
        )
    }
    assert_replicated(pouch.call("replicate", source="local", target="remote"), written=2)

    # Both sides edit both documents after that sync: c1 through the Wix API, c2
    # through /sync with the base revision.
    local_revs = {
        doc_id: pouch.call("put", db="local", doc={"_id": doc_id, "_rev": rev, "v": "pouch"})["rev"]
        for doc_id, rev in base.items()
    }
    wix_ok(
        server,
        "update",
        {"collectionId": "notes", "items": [{"_id": "c1", "overflow": {"v": "wix"}}]},
    )
    status, body = server.sync("PUT", f"/notes/c2?rev={base['c2']}", {"v": "sync-api"})
    assert status == 201, body
    status, c1 = server.sync("GET", "/notes/c1")
    assert status == 200 and c1["v"] == "wix", c1
    remote_revs = {"c1": c1["_rev"], "c2": body["rev"]}
    remote_values = {"c1": "wix", "c2": "sync-api"}
    for doc_id in base:
        assert remote_revs[doc_id].startswith("2-"), remote_revs
        assert remote_revs[doc_id] != local_revs[doc_id]

    result = pouch.call("sync", a="local", b="remote")
    assert_replicated(result["push"])
    assert_replicated(result["pull"])

    winners = {}
    for doc_id in base:
        win = winner(local_revs[doc_id], remote_revs[doc_id])
        lose = remote_revs[doc_id] if win == local_revs[doc_id] else local_revs[doc_id]
        value = "pouch" if win == local_revs[doc_id] else remote_values[doc_id]
        winners[doc_id] = (win, lose, value)

        local = pouch.call("get", db="local", docId=doc_id, options={"conflicts": True})
        assert local["_rev"] == win, (doc_id, local, winners[doc_id])
        assert local["_conflicts"] == [lose], (doc_id, local)
        assert local["v"] == value, local

        status, remote = server.sync("GET", f"/notes/{doc_id}")
        assert status == 200, remote
        assert remote["_rev"] == win and remote["v"] == value, (doc_id, remote, winners[doc_id])
        both = leaves(server, "notes", doc_id)
        assert set(both) == {win, lose}, (doc_id, both)
        assert both[lose]["v"] == ("pouch" if value != "pouch" else remote_values[doc_id])
        assert server.items("notes")[doc_id]["overflow"] == {"v": value}

    # Resolve in PouchDB: remove the losing revision, then replicate again.
    for doc_id, (_, lose, _) in winners.items():
        assert pouch.call("remove", db="local", docId=doc_id, rev=lose)["ok"] is True
    result = pouch.call("sync", a="local", b="remote")
    assert_replicated(result["push"], written=2)
    assert_replicated(result["pull"])

    items = server.items("notes")
    for doc_id, (win, lose, value) in winners.items():
        local = pouch.call("get", db="local", docId=doc_id, options={"conflicts": True})
        assert local["_rev"] == win and "_conflicts" not in local, local
        status, remote = server.sync("GET", f"/notes/{doc_id}")
        assert status == 200 and remote["_rev"] == win and remote["v"] == value, remote
        found = leaves(server, "notes", doc_id)
        tombstones = [doc for rev, doc in found.items() if rev != win]
        assert win in found and len(found) == 2, found
        assert tombstones[0]["_rev"].startswith("3-"), found
        assert tombstones[0].get("_deleted") is True, found
        # ... on the losing branch.
        assert tombstones[0]["_revisions"]["ids"][1] == lose.split("-", 1)[1], found
        assert items[doc_id]["overflow"] == {"v": value}
    assert_no_server_errors(pouch)


# --- 4. live -----------------------------------------------------------------------------


def test_live_sync(server, pouch):
    make_collection(server, "notes")
    wix_ok(
        server,
        "insert",
        {"collectionId": "notes", "items": [{"_id": "w0", "overflow": {"title": "before"}}]},
    )
    pouch.call("open", name="local")
    pouch.call("open", name="remote", url=server.sync_url("notes"))
    pouch.call("live", name="s", a="local", b="remote")

    wait_for("w0 in PouchDB", lambda: pouch.get("local", "w0"))

    # Wix API -> PouchDB: an insert, then an update.
    wix_ok(
        server,
        "insert",
        {"collectionId": "notes", "items": [{"_id": "w1", "overflow": {"title": "from wix"}}]},
    )
    doc = wait_for("w1 (inserted through Wix) in PouchDB", lambda: pouch.get("local", "w1"))
    assert user_fields(doc) == {"title": "from wix"}, doc
    wix_ok(
        server,
        "update",
        {"collectionId": "notes", "items": [{"_id": "w1", "overflow": {"title": "edited"}}]},
    )

    def edited():
        doc = pouch.get("local", "w1")
        return doc if doc and doc.get("title") == "edited" else None

    doc = wait_for("w1's Wix update in PouchDB", edited)
    assert doc["_rev"].startswith("2-"), doc

    # PouchDB -> Wix API: an insert, then a delete.
    put = pouch.call("put", db="local", doc={"_id": "l1", "title": "from pouch"})
    item = wait_for("l1 (put in PouchDB) in the Wix query", lambda: server.items("notes").get("l1"))
    assert item["overflow"] == {"title": "from pouch"}, item
    pouch.call("remove", db="local", docId="l1", rev=put["rev"])
    wait_for("l1's deletion in the Wix query", lambda: "l1" not in server.items("notes"))

    # Wix remove -> PouchDB tombstone.
    wix_ok(server, "remove", {"collectionId": "notes", "itemIds": ["w0"]})
    wait_for("w0's Wix removal in PouchDB", lambda: pouch.get("local", "w0") is None)

    events = pouch.call("cancel", name="s")
    problems = [
        e for e in events if e["event"] in ("error", "denied") or e.get("error") is not None
    ]
    assert not problems, problems
    assert set(server.items("notes")) == {"w1"}
    assert {d["_id"] for d in pouch.call("all", db="local")} == {"w1"}
    assert_no_server_errors(pouch)
