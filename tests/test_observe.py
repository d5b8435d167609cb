"""The request log: one JSON line per request, on every backend."""

from __future__ import annotations

import json
import logging
import os

import pytest
import sqlalchemy as sa
from conftest import TEXT_ID, create_table

from connector import observe

META = {"requestId": "r-1", "instanceId": "site-1", "identity": {"identityType": "WIX_USER"}}


@pytest.fixture
def people(engine):
    return create_table(engine, "people", sa.Column("_id", TEXT_ID, primary_key=True))


def request_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "connector.requests"]


def test_each_request_is_one_json_line_with_its_wix_ids(wix, people, caplog):
    with caplog.at_level(logging.INFO, logger="connector"):
        assert wix.post("/v3/items/query", {"collectionId": "people"}, metadata=META)[0] == 200
        assert wix.post("/v3/items/query", {"collectionId": "nope"}, metadata=META)[0] == 404
        wix.http.get("/healthz")
    lines = request_lines(caplog)
    assert [(line["path"], line["status"]) for line in lines] == [
        ("/v3/items/query", 200),
        ("/v3/items/query", 404),
        ("/healthz", 200),
    ]
    first = dict(lines[0])
    assert isinstance(first.pop("ms"), float)
    assert first == {
        "method": "POST",
        "path": "/v3/items/query",
        "status": 200,
        "pid": os.getpid(),
        "collectionId": "people",
        "requestId": "r-1",
        "instanceId": "site-1",
    }
    assert set(lines[2]) == {"method", "path", "status", "ms", "pid"}


def test_log_level_and_stdout_json(capsys, monkeypatch, wix, people):
    logger = logging.getLogger("connector")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "level", logger.level)
    observe.configure_logging("warning")
    wix.post("/v3/items/query", {"collectionId": "people"}, metadata=META)
    logging.getLogger("connector.http").warning("database unavailable: x")
    out = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in out] == [
        {"level": "warning", "logger": "connector.http", "message": "database unavailable: x"}
    ]  # the INFO request line is below WARNING
    observe.configure_logging("info")  # a second call sets the level, adds no handler
    assert len(logger.handlers) == 1 and logger.level == logging.INFO
