"""Helpers for the sync API tests (tests/test_sync_*.py): a client for ``/sync``
that sends the admin key, revision-id patterns and small table helpers."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import sqlalchemy as sa
from conftest import API_KEY, TEXT_ID, create_table

PREFIX = "/sync/"
CONFLICT = {"error": "conflict", "reason": "Document update conflict."}
MISSING = {"error": "not_found", "reason": "missing"}
DELETED = {"error": "not_found", "reason": "deleted"}


def rev_pattern(generation: int) -> re.Pattern:
    return re.compile(rf"^{generation}-[0-9a-f]{{32}}$")


def assert_rev(rev, generation: int) -> str:
    assert isinstance(rev, str) and rev_pattern(generation).match(rev), (rev, generation)
    return rev


def digest(rev: str) -> str:
    return rev.partition("-")[2]


def generation(rev: str) -> int:
    return int(rev.partition("-")[0])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def md5_digest(data: bytes) -> str:
    return "md5-" + b64(hashlib.md5(data).digest())


def assert_error(status, body, expected_status: int, error: str, reason: str | None = None):
    """A sync error: ``{"error", "reason"}`` with that status (and reason, when given)."""
    assert status == expected_status, (status, body)
    assert isinstance(body, dict) and set(body) == {"error", "reason"}, body
    assert body["error"] == error, body
    assert isinstance(body["reason"], str) and body["reason"], body
    if reason is not None:
        assert body["reason"] == reason, body


def _param(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


class SyncClient:
    """Calls ``/sync/...`` with the admin key; ``call`` returns ``(status, json)``."""

    def __init__(self, app, headers=None):
        self.app = app
        self.http = app.test_client()
        self.headers = {"Authorization": f"Bearer {API_KEY}"} if headers is None else headers

    def open(self, method, path, body=None, *, data=None, headers=None, content_type=None, **q):
        kwargs = {}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        if data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = content_type or "application/json"
        return self.http.open(
            PREFIX + path.lstrip("/"),
            method=method,
            headers={**self.headers, **(headers or {})},
            query_string={k: _param(v) for k, v in q.items()},
            **kwargs,
        )

    def call(self, method, path, body=None, **kwargs):
        response = self.open(method, path, body, **kwargs)
        return response.status_code, response.get_json(silent=True)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.call("PUT", path, body, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)

    # --- shortcuts that assert success ------------------------------------

    def create_db(self, db):
        assert self.put(f"{db}/") == (201, {"ok": True})

    def save(self, db, doc_id, body, *, generation_=None, **q) -> str:
        """PUT a document; its new rev (asserts 201 and the answer's shape)."""
        status, answer = self.put(f"{db}/{doc_id}", body, **q)
        assert status == 201, (status, answer)
        assert set(answer) == {"id", "ok", "rev"} and answer["id"] == doc_id, answer
        assert answer["ok"] is True
        expected = generation_ or (generation(body["_rev"]) + 1 if "_rev" in body else 1)
        return assert_rev(answer["rev"], expected)

    def doc(self, db, doc_id, **q) -> dict:
        status, body = self.get(f"{db}/{doc_id}", **q)
        assert status == 200, (status, body)
        return body

    def info(self, db) -> dict:
        status, body = self.get(f"{db}/")
        assert status == 200, (status, body)
        return body

    def bulk(self, db, docs, **extra):
        status, body = self.post(f"{db}/_bulk_docs", {"docs": docs, **extra})
        assert status == 201, (status, body)
        assert isinstance(body, list) and len(body) == len(docs), body
        return body

    def changes(self, db, **q) -> dict:
        status, body = self.get(f"{db}/_changes", **q)
        assert status == 200, (status, body)
        assert set(body) == {"results", "last_seq"}, body
        return body


def people(engine, rows=(), name="people"):
    """A table with a String ``_id`` key and typed columns, and no overflow column."""
    return create_table(
        engine,
        name,
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("age", sa.Integer),
        sa.Column("active", sa.Boolean),
        rows=rows,
    )


def row_of(engine, table, key):
    """The row with ``_id`` == key as a dict, or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c["_id"] == key)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    if "active" in found and found["active"] is not None:
        found["active"] = bool(found["active"])
    return found


def wix_item(api, collection_id, item_id):
    """The item as the Wix API returns it, or None."""
    items = api.items(collection_id, {"filter": {"_id": item_id}})
    assert len(items) <= 1, items
    return items[0] if items else None
