"""Indexes made through indexes/create serve the connector's own sorted and
deep cursor pages: the database's plans (and, where it reports them, the rows
it read) for the statements the connector sends.

A deep cursor page must not cost its depth (issue "Benchmark": the page at 90%
costs at most 1.5x the first). These tests fail when the ORDER BY stops
matching the index (PostgreSQL's NULLS FIRST) or the keyset condition gives the
index no range to start from.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

ROWS = 3000
LIMIT = 20


@pytest.fixture
def ranked(api):
    """A collection of ROWS items with a nullable NUMBER ``rank`` (0..ROWS-1, in
    shuffled insertion order) and an index on it made through the API."""
    status, body = api.post(
        "/v3/collections/create",
        {"collection": {"id": "ranked", "fields": [{"key": "rank", "type": "NUMBER"}]}},
    )
    assert status == 200, body
    for start in range(0, ROWS, 1000):
        items = [{"_id": f"r{n:05d}", "rank": (n * 7) % ROWS} for n in range(start, start + 1000)]
        status, body = api.post("/v3/items/insert", {"collectionId": "ranked", "items": items})
        assert status == 200, body
    index = {"name": "by_rank", "fields": [{"path": "rank", "order": "ASC"}]}
    status, body = api.post("/v3/indexes/create", {"collectionId": "ranked", "index": index})
    assert status == 200 and body["index"]["status"] == "ACTIVE", body
    engine = api.app.extensions["connector.engine"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql('ANALYZE "ranked"')
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE TABLE `ranked`")
    return api


def captured_select(api, query):
    """The SELECT (text, parameters) the connector sends for ``query``, and its answer."""
    engine = api.app.extensions["connector.engine"]
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        # Not the per-request schema version read: the query under test.
        if (
            statement.lstrip().upper().startswith("SELECT")
            and "_connector_settings" not in statement
        ):
            sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        status, body = api.query("ranked", query)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert status == 200, body
    assert len(sent) == 1, sent
    return sent[0], body


def _mariadb_gap(engine):
    if engine.dialect.name in ("mysql", "mariadb"):
        # ORDER BY _id COLLATE utf8mb4_nopad_bin (code-point order) is not the
        # order of the key's own collation, so InnoDB's index on rank (which ends
        # in the primary key) cannot finish the sort: a known gap, left open.
        pytest.xfail("MariaDB sorts the _id tie-break by a collation its index lacks")


def rows_read(engine, statement, parameters) -> int:
    """How many table rows the database touched to answer ``statement``, by its
    own account (PostgreSQL EXPLAIN ANALYZE, MariaDB ANALYZE), or for SQLite
    the plan's verdict: ROWS when it sorts the whole table, else 0."""
    dialect = engine.dialect.name
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if dialect == "postgresql":
            # Left to itself, the planner may scan and sort a table this small;
            # with both discouraged it uses the index if the index can serve.
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("SET enable_sort = off")
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            return max(_scanned(plan[0]["Plan"]))
        if dialect == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            details = [row[-1] for row in cursor.fetchall()]
            assert any("INDEX by_rank" in d for d in details), details
            return ROWS if any(d == "USE TEMP B-TREE FOR ORDER BY" for d in details) else 0
        cursor.execute("ANALYZE FORMAT=JSON " + statement, parameters)
        report = json.loads(cursor.fetchone()[0])
        return int(max(_mariadb_rows(report)))
    finally:
        raw.rollback()
        raw.close()


def _scanned(node):
    if "Scan" in node["Node Type"]:
        yield node["Actual Rows"] * node.get("Actual Loops", 1)
    for child in node.get("Plans", []):
        yield from _scanned(child)


def _mariadb_rows(node):
    if isinstance(node, dict):
        if "r_rows" in node:
            yield node["r_rows"] * node.get("r_loops", 1)
        for value in node.values():
            yield from _mariadb_rows(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mariadb_rows(value)


def _walk_to(api, depth):
    """A cursor to the page after the first ``depth`` items by rank."""
    query = {"sort": [{"fieldName": "rank", "order": "ASC"}], "cursorPaging": {"limit": 1000}}
    cursor, walked = None, 0
    while walked < depth:
        paging = {"limit": min(1000, depth - walked), **({"cursor": cursor} if cursor else {})}
        body = {"cursorPaging": paging} if cursor else {**query, "cursorPaging": paging}
        status, answer = api.query("ranked", body)
        assert status == 200, answer
        walked += answer["pagingMetadata"]["count"]
        cursor = answer["pagingMetadata"]["cursors"]["next"]
    return cursor


def test_first_cursor_page_by_an_index_reads_only_the_page(ranked):
    query = {"sort": [{"fieldName": "rank", "order": "ASC"}], "cursorPaging": {"limit": LIMIT}}
    (statement, parameters), body = captured_select(ranked, query)
    assert [item["rank"] for item in body["items"]] == list(range(LIMIT))
    engine = ranked.app.extensions["connector.engine"]
    _mariadb_gap(engine)
    assert rows_read(engine, statement, parameters) <= 2 * LIMIT + 2


def test_deep_cursor_page_reads_only_the_page(ranked):
    depth = int(ROWS * 0.9)
    cursor = _walk_to(ranked, depth)
    (statement, parameters), body = captured_select(
        ranked, {"cursorPaging": {"limit": LIMIT, "cursor": cursor}}
    )
    assert [item["rank"] for item in body["items"]] == list(range(depth, depth + LIMIT))
    engine = ranked.app.extensions["connector.engine"]
    _mariadb_gap(engine)
    assert rows_read(engine, statement, parameters) <= 2 * LIMIT + 2


def test_descending_deep_page_reads_only_the_page(ranked):
    query = {"sort": [{"fieldName": "rank", "order": "DESC"}], "cursorPaging": {"limit": 1000}}
    status, body = ranked.query("ranked", query)
    assert status == 200, body
    cursor = body["pagingMetadata"]["cursors"]["next"]
    (statement, parameters), body = captured_select(
        ranked, {"cursorPaging": {"limit": LIMIT, "cursor": cursor}}
    )
    top = ROWS - 1000
    assert [item["rank"] for item in body["items"]] == list(range(top - 1, top - 1 - LIMIT, -1))
    engine = ranked.app.extensions["connector.engine"]
    _mariadb_gap(engine)
    # Descending pages of a nullable field keep the nulls that follow them, so
    # the range cannot be stated alone; the index still orders the scan.
    assert rows_read(engine, statement, parameters) <= 1000 + 2 * LIMIT + 2


def test_nulls_still_sort_first_ascending_and_last_descending(ranked):
    status, body = ranked.post(
        "/v3/items/insert", {"collectionId": "ranked", "items": [{"_id": "none", "rank": None}]}
    )
    assert status == 200, body
    few = {"$or": [{"rank": {"$lt": 3}}, {"rank": {"$eq": None}}]}
    ascending = ranked.ids("ranked", few, sort=[{"fieldName": "rank", "order": "ASC"}])
    descending = ranked.ids("ranked", few, sort=[{"fieldName": "rank", "order": "DESC"}])
    # rank = 7n mod 3000: 0 is r00000, 1 is r02143, 2 is r01286
    assert ascending == ["none", "r00000", "r02143", "r01286"]
    assert descending == ["r01286", "r02143", "r00000", "none"]
