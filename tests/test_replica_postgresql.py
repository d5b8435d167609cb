"""A real read replica: a PostgreSQL streaming standby on this machine.

The module starts its own primary cluster and a standby made from it with
``pg_basebackup`` (the system cluster is left alone: it does not accept
replication connections), on free loopback ports. Pausing the standby's WAL
replay makes replication lag as long as the test needs, so it can show both
routes: a default read does not yet see a write the primary has taken, a read
with ``consistentRead: true`` does, and the default read sees it once the
standby has caught up.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import sqlalchemy as sa
from conftest import API_KEY, APP_ID, IN_CI, TEXT_ID, Client, create_table

from connector import create_app
from connector.db import get_engine, get_replicas

#: How long the standby may take to replay what the primary has written.
CATCH_UP = 30.0


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"a PostgreSQL standby cannot be started: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: a PostgreSQL standby cannot be started: {reason}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Clusters:
    """A primary and its streaming standby in one temporary folder, run by the
    ``postgres`` user when the tests run as root (PostgreSQL refuses root)."""

    def __init__(self, bin_dir: str):
        self.bin_dir = bin_dir
        self.root = tempfile.mkdtemp(prefix="connector-replica-")
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.ports = {"primary": _free_port(), "standby": _free_port()}
        self.started: list[str] = []

    def run(self, program: str, *args: str) -> None:
        command = [os.path.join(self.bin_dir, program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr.strip() or done.stdout.strip()}")

    def folder(self, name: str) -> str:
        return os.path.join(self.root, name)

    def start(self, name: str) -> None:
        options = (
            f"-p {self.ports[name]} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=30"
        )
        log = os.path.join(self.root, f"{name}.log")
        self.run("pg_ctl", "-D", self.folder(name), "-l", log, "-o", options, "-w", "start")
        self.started.append(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports[name]}/connector"

    def set_up(self) -> None:
        self.run("initdb", "-A", "trust", "-U", "postgres", "-D", self.folder("primary"))
        self.start("primary")
        self.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U", "postgres"),
            *("-D", self.folder("standby"), "-R", "-X", "stream", "-c", "fast"),
        )
        self.start("standby")
        admin = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{self.ports['primary']}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE connector")
        admin.dispose()
        standby = sa.create_engine(self.url("standby"), poolclass=sa.pool.NullPool)
        deadline = time.monotonic() + CATCH_UP
        while True:  # until the standby has replayed CREATE DATABASE
            try:
                standby.connect().close()
                break
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def tear_down(self) -> None:
        for name in reversed(self.started):
            with contextlib.suppress(RuntimeError):  # already gone
                self.run("pg_ctl", "-D", self.folder(name), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def clusters():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
    if not found:
        _unavailable("no PostgreSQL server binaries under /usr/lib/postgresql")
    running = Clusters(os.path.dirname(found[-1]))
    try:
        running.set_up()
    except (RuntimeError, OSError, subprocess.TimeoutExpired, sa.exc.DBAPIError) as exc:
        running.tear_down()
        _unavailable(str(exc))
    yield running
    running.tear_down()


def _eventually(check, what: str):
    deadline = time.monotonic() + CATCH_UP
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"the standby did not {what} within {CATCH_UP:.0f} s")
        time.sleep(0.05)


def _rows(engine, table) -> list[dict]:
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by("_id"))]
    except sa.exc.ProgrammingError:  # the table itself is not there yet
        return []


def test_reads_lag_on_the_standby_and_a_consistent_read_does_not(clusters, public_pem, rsa_key):
    primary = sa.create_engine(clusters.url("primary"))
    standby = sa.create_engine(clusters.url("standby"), isolation_level="AUTOCOMMIT")
    table = create_table(
        primary,
        "notes",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("text", sa.String(100)),
        rows=[{"_id": "n1", "text": "first"}],
    )
    first = {"_id": "n1", "text": "first"}
    _eventually(lambda: _rows(standby, table) == [first], "replay the first row")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": clusters.url("primary"),
            "DATABASE_READ_URL": clusters.url("standby"),
            "WIX_APP_ID": APP_ID,
            "WIX_PUBLIC_KEY": public_pem,
            "CONNECTOR_API_KEY": API_KEY,
        }
    )
    client = Client(app, rsa_key)  # signed, as Wix sends them
    try:
        assert client.items("notes") == [first]
        # The connector's own metadata tables were created on the primary; wait
        # until the standby has them too, then hold its replay still.
        _eventually(
            lambda: sa.inspect(standby).get_table_names() == sa.inspect(primary).get_table_names(),
            "replay the connector's metadata tables",
        )
        with standby.connect() as conn:
            conn.exec_driver_sql("SELECT pg_wal_replay_pause()")
        _eventually(
            lambda: _scalar(standby, "SELECT pg_get_wal_replay_pause_state()") == "paused",
            "pause its replay",
        )

        second = {"_id": "n2", "text": "second"}
        status, body = client.post("/v3/items/insert", {"collectionId": "notes", "items": [second]})
        assert (status, body) == (200, {"results": [{"item": second}]})
        # A default read goes to the standby, which has not replayed the insert;
        # a consistent read goes to the primary, which has it.
        assert client.items("notes") == [first]
        assert client.post("/v3/items/count", {"collectionId": "notes"}) == (
            200,
            {"totalCount": 1},
        )
        assert client.items("notes", consistentRead=True) == [first, second]
        assert client.post(
            "/v3/items/count", {"collectionId": "notes", "consistentRead": True}
        ) == (
            200,
            {"totalCount": 2},
        )
        assert client.http.get("/readyz").get_json() == {
            "status": "ready",
            "databases": 1,
            "replicas": 1,
        }

        with standby.connect() as conn:
            conn.exec_driver_sql("SELECT pg_wal_replay_resume()")
        _eventually(lambda: client.items("notes") == [first, second], "catch up")
        assert _rows(primary, table) == [first, second]
    finally:
        for engine in [get_engine(app), *get_replicas(app), primary, standby]:
            engine.dispose()


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()
