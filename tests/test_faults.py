"""Faults (issue 7): the database going away and coming back, and many writers at once.

- An outage (the connection cut through a local TCP proxy, or a SQLite file
  locked by another writer) answers 503 ``DATABASE_UNAVAILABLE`` quickly while it
  lasts, never a 500 or a hang, and full service comes back by itself (pre-ping,
  pool recycling): same app object, no restart.
- A server that accepts connections but never answers, or pooled connections
  that silently stopped carrying data, must not hang a request either.
- Concurrent writers: parallel inserts of one ``_id`` give exactly one success;
  parallel updates never leave a half-written row; a hammer of mixed writes from
  many threads leaves every row as the clients were told.
"""

from __future__ import annotations

import contextlib
import random
import socket
import sqlite3
import struct
import threading
import time

import pytest
import sqlalchemy as sa
from conftest import TEXT_ID, Client, create_table

from connector import create_app, db

#: How long one answer may take while the database is away (a client times out).
ANSWER_BOUND = 3.0
SERVERS = ("postgresql", "mariadb")


# --- a TCP proxy that can cut the line ------------------------------------------------


class Proxy:
    """Forwards 127.0.0.1:``port`` to ``target``, one thread per direction.

    - ``cut()``: resets every live connection, and new ones as they come (a
      server restart or a network cut, as the client sees it);
    - ``freeze()``: the live connections stay up but carry nothing any more (a
      NAT or firewall that silently dropped idle flows); new ones work;
    - ``hang()``: like ``freeze()``, and new connections are accepted but never
      answered (a frozen server, a network that drops packets);
    - ``restore()``: new connections are forwarded again.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._frozen: set[socket.socket] = set()
        self._mode = "open"
        threading.Thread(target=self._accept, daemon=True).start()

    # control
    def cut(self) -> None:
        with self._lock:
            self._mode = "cut"
            live, self._live = self._live, set()
        for sock in live:
            _reset(sock)

    def freeze(self) -> None:
        with self._lock:
            self._frozen.update(self._live)

    def hang(self) -> None:
        with self._lock:
            self._mode = "hang"
            self._frozen.update(self._live)

    def restore(self) -> None:
        with self._lock:
            self._mode = "open"

    def close(self) -> None:
        self.cut()
        with contextlib.suppress(OSError):
            self._server.close()

    # the forwarding
    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                mode = self._mode
            if mode == "cut":
                _reset(client)
                continue
            if mode == "hang":  # accepted, never answered
                with self._lock:
                    self._live.add(client)
                threading.Thread(target=self._drain, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._live.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if src in self._frozen:
                    continue  # swallowed: the other side waits for an answer forever
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                _reset(sock)
            with self._lock:
                self._live.difference_update((src, dst))
                self._frozen.difference_update((src, dst))

    def _drain(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while sock.recv(65536):
                pass
        _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, waking any thread blocked on the socket."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@pytest.fixture
def proxied(database_url, app_config, monkeypatch):
    """``(app, proxy)``: the connector on ``database_url`` through a :class:`Proxy`.

    The app's connect timeout is the drivers' least (2 s, libpq's floor) instead
    of the connector's, so that waiting for it keeps the tests short.
    """
    monkeypatch.setattr(db, "CONNECT_TIMEOUT", 2)
    url = sa.engine.make_url(database_url)
    proxy = Proxy(
        (
            url.host or "127.0.0.1",
            url.port or {"postgresql": 5432}.get(url.get_backend_name(), 3306),
        )
    )
    config = dict(
        app_config,
        DATABASE_URL=url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        ),
    )
    app = create_app(config)
    yield app, proxy
    proxy.close()
    app.extensions["connector.engine"].dispose()


# --- helpers --------------------------------------------------------------------------


def insert(client, collection_id, items):
    return client.post("/v3/items/insert", {"collectionId": collection_id, "items": items})


def update(client, collection_id, items):
    return client.post("/v3/items/update", {"collectionId": collection_id, "items": items})


def remove(client, collection_id, item_ids):
    return client.post("/v3/items/remove", {"collectionId": collection_id, "itemIds": item_ids})


def assert_unavailable(status, body):
    assert status == 503, body
    assert set(body) == {"errorCode", "errorMessage", "data"}, body
    assert body["errorCode"] == "DATABASE_UNAVAILABLE", body
    assert isinstance(body["errorMessage"], str) and body["errorMessage"], body
    assert body["data"] == {}, body


def timed(fn, *args):
    """``(seconds, fn(*args))``."""
    start = time.monotonic()
    result = fn(*args)
    return time.monotonic() - start, result


def answer_within(seconds: float, call, release):
    """What ``call()`` returns, failing the test if it takes longer than ``seconds``.

    A call still running then is freed with ``release()`` (so the test ends) and
    reported as a hang, with how long it took once freed.
    """
    done = threading.Event()
    answer: list = []

    def run():
        try:
            answer.append(call())
        finally:
            done.set()

    start = time.monotonic()
    threading.Thread(target=run, daemon=True).start()
    if not done.wait(seconds):
        release()
        done.wait(30)
        pytest.fail(
            f"no answer within {seconds:.1f}s: it hung until released, "
            f"then answered after {time.monotonic() - start:.1f}s in all"
        )
    assert answer, "the call raised"
    return answer[0]


def things(engine, rows=()):
    return create_table(
        engine,
        "things",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        rows=rows,
    )


def db_rows(engine, table) -> dict:
    with engine.connect() as conn:
        return {r._mapping["_id"]: dict(r._mapping) for r in conn.execute(sa.select(table))}


def run_threads(count: int, fn) -> list:
    """Run ``fn(index, barrier)`` in ``count`` threads started together; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def main(i):
        try:
            results[i] = fn(i, barrier)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=main, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "writer threads hung"
    if errors:
        raise errors[0]
    return results


# --- the database going away ----------------------------------------------------------


@pytest.mark.parametrize("backend", SERVERS)
def test_a_cut_connection_is_503_until_it_is_back(proxied, engine):
    app, proxy = proxied
    table = things(engine, rows=[{"_id": "a", "name": "A"}])
    client = Client(app)
    for _ in range(3):
        assert client.ids("things") == ["a"]
    status, body = insert(client, "things", [{"_id": "b", "name": "B"}])
    assert status == 200 and "item" in body["results"][0], body

    proxy.cut()
    calls = [
        lambda: client.query("things"),
        lambda: client.query("things"),
        lambda: insert(client, "things", [{"_id": "lost", "name": "L"}]),
        lambda: update(client, "things", [{"_id": "a", "name": "lost"}]),
        lambda: client.post("/v3/items/count", {"collectionId": "things"}),
        lambda: client.query("things"),
    ]
    for call in calls:
        seconds, (status, body) = timed(call)
        assert_unavailable(status, body)
        assert seconds < ANSWER_BOUND, f"a 503 took {seconds:.1f}s"

    proxy.restore()  # the same app, no restart: the very next request is served
    assert client.ids("things") == ["a", "b"]
    status, body = insert(client, "things", [{"_id": "c", "name": "after"}])
    assert status == 200 and body["results"][0]["item"] == {"_id": "c", "name": "after"}, body
    status, body = update(client, "things", [{"_id": "a", "name": "A2"}])
    assert status == 200 and body["results"][0]["item"] == {"_id": "a", "name": "A2"}, body
    assert {k: r["name"] for k, r in db_rows(engine, table).items()} == {
        "a": "A2",
        "b": "B",
        "c": "after",
    }


@pytest.mark.parametrize("backend", SERVERS)
def test_cuts_mid_traffic_are_503s_never_500s(proxied, engine):
    app, proxy = proxied
    table = things(engine, rows=[{"_id": f"r{i}", "name": "seed"} for i in range(20)])
    stop = threading.Event()
    answers: list[list] = [[] for _ in range(6)]
    told_stored: list[str] = []

    def traffic(i, barrier):
        client = Client(app)
        barrier.wait()
        n = 0
        while not stop.is_set():
            n += 1
            if i % 2:  # writers: remember what they were told is stored
                item_id = f"w{i}-{n}"
                status, body = insert(client, "things", [{"_id": item_id, "name": "w"}])
                if status == 200 and "item" in body["results"][0]:
                    told_stored.append(item_id)
            else:
                status, body = client.query("things", {"paging": {"limit": 50}})
            answers[i].append((time.monotonic(), status, body))
        return n

    def conductor():
        time.sleep(0.2)
        for _ in range(2):
            proxy.cut()
            time.sleep(0.25)
            proxy.restore()
            time.sleep(0.25)
        stop.set()

    threading.Thread(target=conductor, daemon=True).start()
    run_threads(len(answers), traffic)

    statuses = [status for thread in answers for _, status, _ in thread]
    assert set(statuses) <= {200, 503}, [
        body for thread in answers for _, status, body in thread if status not in (200, 503)
    ]
    assert statuses.count(503) > 0, "the cuts were not seen"
    for thread in answers:
        for _, status, body in thread:
            if status == 503:
                assert_unavailable(status, body)
        assert thread[-1][1] == 200, thread[-1]  # served again after the last restore
    # After the faults, every client is served at once, and nothing it was told is lost.
    client = Client(app)
    for _ in range(3):
        assert len(client.ids("things")) >= 20
    stored = db_rows(engine, table)
    assert set(told_stored) <= set(stored)


@pytest.mark.parametrize("backend", SERVERS)
def test_a_server_that_never_answers_is_503_not_a_hang(proxied, engine):
    """The server accepts connections but never answers (frozen, or packets
    dropped): a request must still answer 503, within the connect timeout."""
    app, proxy = proxied
    things(engine, rows=[{"_id": "a", "name": "A"}])
    client = Client(app)
    assert client.ids("things") == ["a"]
    proxy.cut()  # the pool's connections are gone ...
    proxy.hang()  # ... and new ones are never answered
    # A new connection is given up after the connect timeout: the 503 may take
    # that long, and a little more.
    bound = db.CONNECT_TIMEOUT + 1.5
    _, (status, body) = answer_within(bound, lambda: timed(client.query, "things"), proxy.cut)
    assert_unavailable(status, body)
    proxy.restore()
    assert client.ids("things") == ["a"]


@pytest.mark.parametrize("backend", SERVERS)
def test_a_silently_dropped_pooled_connection_is_not_a_hang(proxied, engine):
    """The server is fine, but the pooled connections no longer carry anything:
    the pre-ping must give up on them soon and serve the request on a new one
    (a 503 is tolerable, a hang is not)."""
    app, proxy = proxied
    things(engine, rows=[{"_id": "a", "name": "A"}])
    client = Client(app)
    assert client.ids("things") == ["a"]
    proxy.freeze()
    _, (status, body) = answer_within(
        ANSWER_BOUND, lambda: timed(client.query, "things"), proxy.cut
    )
    if status != 200:
        assert_unavailable(status, body)
    proxy.restore()
    assert client.ids("things") == ["a"]


@pytest.mark.parametrize("backend", SERVERS)
def test_killed_sessions_are_replaced_without_an_error(proxied, engine, backend):
    """A server restart ends every session: the pool notices (pre-ping) and the
    next requests are served on new ones, with no error at all."""
    app, _ = proxied
    things(engine, rows=[{"_id": "a", "name": "A"}])
    clients = [Client(app) for _ in range(3)]
    run_threads(3, lambda i, barrier: (barrier.wait(), clients[i].ids("things")))
    if backend == "postgresql":
        sessions = (
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        kill = "SELECT pg_terminate_backend({})"
    else:
        sessions = (
            "SELECT id FROM information_schema.processlist"
            " WHERE db = database() AND id <> connection_id()"
        )
        kill = "KILL {}"
    with engine.connect() as conn:
        killed = conn.exec_driver_sql(sessions).scalars().all()
        for session in killed:
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.exec_driver_sql(kill.format(int(session)))
    assert killed, "the app held no session to kill"
    for client in clients:
        assert client.ids("things") == ["a"]
    status, body = insert(clients[0], "things", [{"_id": "b", "name": "B"}])
    assert status == 200 and body["results"][0]["item"] == {"_id": "b", "name": "B"}, body


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_locked_sqlite_file_is_503_until_it_is_released(engine, app_config, database_url):
    table = things(engine, rows=[{"_id": "a", "name": "A"}])
    app = create_app(dict(app_config, CONNECTOR_STATEMENT_TIMEOUT_MS=500))
    try:
        client = Client(app)
        assert client.ids("things") == ["a"]
        path = sa.engine.make_url(database_url).database
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")  # another writer holds the file
        released = threading.Event()

        def release():
            if not released.is_set():
                released.set()
                other.execute("ROLLBACK")

        try:
            assert client.ids("things") == ["a"]  # WAL: readers are still served
            for call in (
                lambda: insert(client, "things", [{"_id": "b", "name": "B"}]),
                lambda: update(client, "things", [{"_id": "a", "name": "A2"}]),
                lambda: remove(client, "things", ["a"]),
            ):
                # Busy for CONNECTOR_STATEMENT_TIMEOUT_MS (0.5 s), then 503.
                assert_unavailable(*answer_within(ANSWER_BOUND, call, release))
        finally:
            release()
            other.close()
        status, body = insert(client, "things", [{"_id": "b", "name": "B"}])
        assert status == 200 and body["results"][0]["item"] == {"_id": "b", "name": "B"}, body
        assert {k: r["name"] for k, r in db_rows(engine, table).items()} == {"a": "A", "b": "B"}
    finally:
        app.extensions["connector.engine"].dispose()


# --- concurrent writers ----------------------------------------------------------------

WRITERS = 12


def stamped(item_id, token, n):
    """An item whose fields all say who wrote it: a half-written row shows."""
    return {"_id": item_id, "a": token, "b": token, "c": token, "n": n}


def consistent(item) -> bool:
    return item["a"] == item["b"] == item["c"] == f"t{item['n']}"


def stamps(engine, rows=()):
    return create_table(
        engine,
        "stamps",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("a", sa.String(32)),
        sa.Column("b", sa.String(32)),
        sa.Column("c", sa.String(32)),
        sa.Column("n", sa.Integer),
        rows=rows,
    )


def test_parallel_inserts_of_one_id_give_one_success(engine, app):
    table = stamps(engine)
    ids = [f"dup{k}" for k in range(6)]  # a race per id, all writers released together

    def writer(i, barrier):
        client = Client(app)
        answers = []
        for k, item_id in enumerate(ids):
            barrier.wait()
            n = i * 100 + k
            answers.append((n, insert(client, "stamps", [stamped(item_id, f"t{n}", n)])))
        return answers

    results = run_threads(WRITERS, writer)
    rows = db_rows(engine, table)
    losers = []
    for k, item_id in enumerate(ids):
        answers = [r[k] for r in results]
        assert all(status == 200 for _, (status, _) in answers), answers
        outcomes = [(n, body["results"][0]) for n, (_, body) in answers]
        won = [n for n, result in outcomes if "item" in result]
        assert len(won) == 1, outcomes  # exactly one success ...
        [winner] = won
        assert rows[item_id] == stamped(item_id, f"t{winner}", winner)  # ... and it is stored
        losers += [(item_id, result) for _, result in outcomes if "item" not in result]
    wrong = [
        (item_id, result["error"]["errorCode"])
        for item_id, result in losers
        if result
        != {
            "error": {
                "errorCode": "ITEM_ALREADY_EXISTS",
                "errorMessage": result["error"]["errorMessage"],
                "data": {"itemId": item_id},
            }
        }
    ]
    assert not wrong, f"{len(wrong)} of {len(losers)} losers were not ITEM_ALREADY_EXISTS: {wrong}"


def test_parallel_updates_never_half_write_a_row(engine, app):
    table = stamps(engine, rows=[stamped(k, "t0", 0) for k in ("solo", "x", "y")])
    rounds = 5

    def writer(i, barrier):
        client = Client(app)
        told = []
        barrier.wait()
        for r in range(rounds):
            n = (i + 1) * 100 + r
            status, body = update(client, "stamps", [stamped("solo", f"t{n}", n)])
            assert status == 200, body
            [result] = body["results"]
            assert result == {"item": stamped("solo", f"t{n}", n)}, result
            told.append(n)
            # Two rows in one request: both are written by the same request, or neither.
            status, body = update(
                client, "stamps", [stamped("x", f"t{n}", n), stamped("y", f"t{n}", n)]
            )
            assert status == 200, body
            assert body["results"] == [
                {"item": stamped("x", f"t{n}", n)},
                {"item": stamped("y", f"t{n}", n)},
            ]
        return told

    told = {n for ns in run_threads(WRITERS, writer) for n in ns}
    rows = db_rows(engine, table)
    for row in rows.values():
        assert consistent(row), row
        assert row["n"] in told, row
    assert rows["x"]["n"] == rows["y"]["n"], rows


HAMMER_WRITERS = 8

#: The error each write may answer for an id another writer just changed.
RACE_ERRORS = {
    "insert": "ITEM_ALREADY_EXISTS",
    "update": "ITEM_NOT_FOUND",
    "remove": "ITEM_NOT_FOUND",
}


def test_a_hammer_of_mixed_writes_leaves_rows_as_the_clients_were_told(engine, app, backend):
    """Each writer owns a few ids (what it was told must be exactly what is
    stored) and shares a few with all the others (every row whole, and the
    successful inserts and removes of an id alternate)."""
    table = stamps(engine)
    shared = [f"shared{k}" for k in range(3)]
    ops_per_writer = 30

    def writer(i, barrier):
        rng = random.Random(i)
        client = Client(app)
        owned = [f"own{i}-{k}" for k in range(3)]
        model: dict[str, int] = {}  # what this writer was told its ids hold
        log = []  # (item_id, op, n, result)
        barrier.wait()
        for step in range(ops_per_writer):
            item_id = rng.choice(owned + shared)
            op = rng.choice(("insert", "update", "remove"))
            n = i * 1000 + step
            item = stamped(item_id, f"t{n}", n)
            if op == "insert":
                status, body = insert(client, "stamps", [item])
            elif op == "update":
                status, body = update(client, "stamps", [item])
            else:
                status, body = remove(client, "stamps", [item_id])
            assert status == 200, (op, item_id, status, body)
            [result] = body["results"]
            log.append((item_id, op, n, result))
            if "item" in result:
                assert consistent(result["item"]), result
                if op != "remove":
                    assert result["item"] == item, result
            if item_id not in owned:
                continue
            # Alone on its ids, the writer knows every answer in advance.
            present = item_id in model
            if op == "insert":
                expected = "ITEM_ALREADY_EXISTS" if present else None
            else:
                expected = None if present else "ITEM_NOT_FOUND"
            got = result["error"]["errorCode"] if "error" in result else None
            assert got == expected, (op, item_id, result)
            if got is not None:
                continue
            if op == "remove":
                assert result == {"item": stamped(item_id, f"t{model[item_id]}", model[item_id])}
                del model[item_id]
            else:
                model[item_id] = n
        return owned, model, log

    results = run_threads(HAMMER_WRITERS, writer)
    rows = db_rows(engine, table)
    for row in rows.values():
        assert consistent(row), row
    for owned, model, _ in results:
        for item_id in owned:
            stored = rows.get(item_id)
            assert (stored["n"] if stored else None) == model.get(item_id), (item_id, stored)
    errors = {
        (op, result["error"]["errorCode"])
        for _, _, log in results
        for (_, op, _, result) in log
        if "error" in result
    }
    assert errors <= set(RACE_ERRORS.items()), errors
    ops = set()
    for item_id in shared:
        done = [
            (op, n, result)
            for _, _, log in results
            for (i, op, n, result) in log
            if i == item_id and "item" in result
        ]
        inserted = sum(op == "insert" for op, _, _ in done)
        removed = sum(op == "remove" for op, _, _ in done)
        assert inserted - removed == (1 if item_id in rows else 0), (item_id, done)
        if item_id in rows:  # what is stored was written by a write that succeeded
            assert rows[item_id]["n"] in {n for op, n, _ in done if op != "remove"}
        ops.update(op for op, _, _ in done)
    assert ops == {"insert", "update", "remove"}, "the shared ids saw too little traffic"
