"""The database's floor: the same SQL, run in-process with no HTTP, no token, no JSON.

Read workloads: the connector serves the workload's first body once in-process
while the engine is watched; the Core statements it executed are then re-run
through SQLAlchemy Core (``conn.execute(statement)``), and the SQL text and
parameters it sent the driver are re-run on a bare DBAPI cursor.

Write workloads (as the issue defines them): the same rows written in-process
with SQLAlchemy Core (``conn.execute(table.insert(), rows)``, an executemany),
and the statements Core sent the driver for that, re-run on a bare cursor with
fresh ids. One iteration is one request's worth of work, committed (writes) or
rolled back (reads), on one connection.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid

import sqlalchemy as sa

from connector import db
from connector.catalog import Collection

from . import seed
from .stats import summarize


def measure(fn, *, seconds: float, limit: int | None = None) -> dict:
    """Run ``fn()`` repeatedly for ``seconds``: its rate and latency percentiles."""
    for _ in range(2):  # warm caches and statement plans
        fn()
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and (limit is None or len(latencies) < limit):
        start = time.perf_counter()
        fn()
        latencies.append(time.perf_counter() - start)
    return summarize(latencies)


class Watch:
    """Records what an engine executes: Core statements and driver calls."""

    def __init__(self, engine):
        self.engine = engine
        self.core: list = []
        self.sql: list = []

    def _core(self, conn, clauseelement, multiparams, params, execution_options):
        self.core.append((clauseelement, multiparams, params))

    def _cursor(self, conn, cursor, statement, parameters, context, executemany):
        self.sql.append((statement, parameters, executemany))

    def __enter__(self):
        sa.event.listen(self.engine, "before_execute", self._core)
        sa.event.listen(self.engine, "before_cursor_execute", self._cursor)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_execute", self._core)
        sa.event.remove(self.engine, "before_cursor_execute", self._cursor)


def _replay_driver(engine, calls, *, commit: bool, rename=None):
    """A function that runs ``calls`` (statement, parameters, executemany) on a bare
    DBAPI connection; ``rename()`` gives a value mapping applied to parameters."""
    raw = engine.raw_connection()
    driver = raw.driver_connection

    def run():
        mapping = rename() if rename else None
        cursor = driver.cursor()
        for statement, parameters, many in calls:
            if mapping:
                parameters = _renamed(parameters, mapping)
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        cursor.close()
        driver.commit() if commit else driver.rollback()

    return run, raw


def _renamed(parameters, mapping):
    if isinstance(parameters, dict):
        return {k: _renamed(v, mapping) for k, v in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return type(parameters)(_renamed(v, mapping) for v in parameters)
    if isinstance(parameters, str):
        return mapping.get(parameters, parameters)
    return parameters


def read_floor(app, workload, headers: dict, *, seconds: float) -> dict:
    """Capture the workload's statements from the connector, then time them bare."""
    engine = db.get_engine(app)
    client = app.test_client()
    body = workload.bodies[0]
    client.post(workload.path, json=body, headers=headers)  # schema cached, plans warm
    with Watch(engine) as watch:
        response = client.post(workload.path, json=body, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{workload.name}: {response.status_code} {response.get_data(True)}")

    # One connection for the whole run: the floor pays no pool checkout.
    with engine.connect() as conn:

        def core_one_connection():
            for clause, multiparams, _params in watch.core:
                result = conn.execute(clause, *multiparams)
                if result.returns_rows:
                    result.all()
            conn.rollback()

        core_figures = measure(core_one_connection, seconds=seconds)
    return _figures(engine, watch.sql, core_figures, commit=False, seconds=seconds)


def _figures(engine, calls, core_figures, *, commit, seconds, limit=None, rename=None) -> dict:
    """The driver's figures for replaying ``calls``, beside the Core figures."""
    driver, raw = _replay_driver(engine, calls, commit=commit, rename=rename)
    try:
        driver_figures = measure(driver, seconds=seconds, limit=limit)
    finally:
        raw.close()
    return {
        "statements": [statement for statement, _, _ in calls],
        "core": core_figures,
        "driver": driver_figures,
    }


def _rows(app, items) -> tuple[Collection, list[dict]]:
    """Database rows for wire ``items``, as the connector would store them."""
    catalog = app.extensions["connector.catalog"]
    collection = catalog.get(seed.ITEMS)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = []
    for item in items:
        row = {
            collection.fields[k].column.key: collection.fields[k].to_database(v)
            for k, v in item.items()
        }
        row.update(_createdDate=now, _updatedDate=now)
        rows.append(row)
    return collection, rows


def write_floor(app, workload, *, seconds: float, remove_ids: list[str]) -> dict:
    """The workload's writes done directly with Core, then the same SQL on a bare cursor."""
    engine = db.get_engine(app)
    items = workload.bodies[0].get("items") or []
    collection, rows = _rows(app, items)
    table = collection.table
    id_column = collection.id_field.column
    run = uuid.uuid4().hex[:8]
    ids = (f"floor-{run}-{n}" for n in itertools.count())
    removable = iter(remove_ids)

    if workload.floor == "insert":

        def statement_rows():
            return [{**row, "_id": next(ids)} for row in rows]

        def core(conn, batch):
            conn.execute(table.insert(), batch)

    elif workload.floor == "update":
        key = items[0]["_id"]
        changes = {k: v for k, v in rows[0].items() if k not in ("_id", "_createdDate")}

        def statement_rows():
            return [changes]

        def core(conn, batch):
            conn.execute(table.update().where(id_column == key).values(**batch[0]))

    elif workload.floor == "remove":

        def statement_rows():
            return [{"_id": next(removable)}]

        def core(conn, batch):
            conn.execute(table.delete().where(id_column == batch[0]["_id"]))

    else:
        raise ValueError(workload.floor)

    def core_iteration():
        with engine.begin() as conn:
            core(conn, statement_rows())

    limit = len(remove_ids) // 3 if workload.floor == "remove" else None
    core_figures = measure(core_iteration, seconds=seconds, limit=limit)

    # The driver replays what Core sent for one more iteration, with new ids each time.
    batch = statement_rows()
    with Watch(engine) as watch, engine.begin() as conn:
        core(conn, batch)
    sent = [row["_id"] for row in batch if "_id" in row]

    def rename():
        return {old: next(removable) if workload.floor == "remove" else next(ids) for old in sent}

    figures = _figures(
        engine, watch.sql, core_figures, commit=True, seconds=seconds, limit=limit, rename=rename
    )
    return {**figures, "rows_per_request": len(rows)}
