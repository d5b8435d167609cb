"""The request log: one JSON line per request, for log search and alerts.

Each line holds the method, path, status, duration in ms, the worker's process
id, the Wix requestId and instanceId of a signed call, and its collectionId: never
a token, a key or item data. ``LOG_LEVEL`` sets the level of every connector logger.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from flask import Flask, g, request

log = logging.getLogger("connector.requests")


def init_app(app: Flask) -> None:
    @app.before_request
    def _started():
        g.started = time.perf_counter()

    @app.after_request
    def _logged(response):
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps(request_line(response.status_code), ensure_ascii=False))
        return response


def request_line(status: int) -> dict:
    """The log line of the current request, as a dict."""
    metadata = g.get("wix_metadata") or {}
    line = {
        "method": request.method,
        "path": request.path,
        "status": status,
        "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        "pid": os.getpid(),  # which gunicorn worker served it
    }
    if isinstance(g.get("collection_id"), str):
        line["collectionId"] = g.collection_id
    for key in ("requestId", "instanceId"):
        if isinstance(metadata.get(key), str):
            line[key] = metadata[key]
    return line


class _Message(logging.Formatter):
    """Request lines as they are; other records as JSON lines too."""

    def format(self, record):
        message = record.getMessage()
        if record.name == log.name:
            return message
        return json.dumps(
            {"level": record.levelname.lower(), "logger": record.name, "message": message},
            ensure_ascii=False,
        )


def configure_logging(level: str | None) -> None:
    """Send connector logs to stdout as JSON lines at ``level`` (default INFO)."""
    logger = logging.getLogger("connector")
    logger.setLevel((level or "INFO").upper())
    if any(getattr(h, "connector_stdout", False) for h in logger.handlers):
        return  # configured once per process
    handler = logging.StreamHandler(sys.stdout)
    handler.connector_stdout = True
    handler.setFormatter(_Message())
    logger.addHandler(handler)
    logger.propagate = False
