"""Prometheus metrics at /metrics: requests and their latency per endpoint and
status, and the database pools' use.

Under gunicorn every worker counts its own requests; with
``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn.conf.py sets it) the workers write
their samples there and /metrics sums them over every live worker.
``CONNECTOR_METRICS_REQUIRE_KEY=true`` makes /metrics need the API key.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from . import config
from .errors import Unauthorized

bp = Blueprint("metrics", __name__)

#: Request latency buckets, in seconds: Wix site code gives up at 14 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15)


class Metrics:
    """The app's metrics (a registry of their own, so apps in one process do not mix)."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "connector_requests",
            "Requests answered, by endpoint and status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "connector_request_seconds",
            "Time to answer a request, by endpoint.",
            ["endpoint"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.pool = Gauge(
            "connector_pool_connections",
            "Database connections of this process's pools, by state.",
            ["state"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )


def init_app(app: Flask) -> None:
    metrics = app.extensions["connector.metrics"] = Metrics()

    @app.after_request
    def _counted(response):
        # The route's rule, not the path: ids in sync paths would make a series each.
        endpoint = request.url_rule.rule if request.url_rule is not None else "unrouted"
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        started = g.get("started")  # set by observe.py's request log
        if started is not None:
            metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return response


@bp.get("/metrics")
def metrics_view():
    if config.flag(current_app.config.get("CONNECTOR_METRICS_REQUIRE_KEY")):
        verifier = current_app.extensions["connector.verifier"]
        if not verifier.has_api_key(request.headers.get("Authorization")):
            raise Unauthorized("/metrics needs 'Authorization: Bearer <API key>'.")
    metrics = current_app.extensions["connector.metrics"]
    pool = current_app.extensions["connector.engine"].pool
    if hasattr(pool, "checkedout"):
        metrics.pool.labels("in_use").set(pool.checkedout())
        metrics.pool.labels("idle").set(pool.checkedin())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = metrics.registry
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
