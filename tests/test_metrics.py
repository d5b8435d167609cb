"""Prometheus metrics at /metrics, on every backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import API_KEY, TEXT_ID, create_table
from prometheus_client.parser import text_string_to_metric_families

from connector import create_app


def samples(text: str) -> dict:
    """{(name, labels as a sorted tuple): value} of an exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_requests_are_counted_and_timed_per_endpoint_and_status(wix, engine):
    create_table(engine, "people", sa.Column("_id", TEXT_ID, primary_key=True))
    for _ in range(3):
        assert wix.query("people")[0] == 200
    assert wix.query("nope")[0] == 404
    assert wix.http.get("/sync/people/doc-1").status_code in (401, 404)
    found = samples(wix.http.get("/metrics").get_data(as_text=True))
    query = (("endpoint", "/v3/items/query"), ("status", "200"))
    assert found[("connector_requests_total", query)] == 3
    assert (
        found[("connector_requests_total", (("endpoint", "/v3/items/query"), ("status", "404")))]
        == 1
    )
    assert found[("connector_request_seconds_count", (("endpoint", "/v3/items/query"),))] == 4
    # Sync paths count under their rule, not one series per document.
    assert not any("doc-1" in str(labels) for _, labels in found)
    assert (
        "connector_pool_connections",
        (("state", "in_use"),),
    ) in found or engine.dialect.name == "sqlite"


@pytest.mark.parametrize(
    "header, status", [(None, 401), ("Bearer nope", 401), (f"Bearer {API_KEY}", 200)]
)
def test_metrics_can_require_the_api_key(app_config, header, status):
    application = create_app({**app_config, "CONNECTOR_METRICS_REQUIRE_KEY": True})
    try:
        headers = {"Authorization": header} if header else {}
        response = application.test_client().get("/metrics", headers=headers)
    finally:
        application.extensions["connector.engine"].dispose()
    assert response.status_code == status
    if status == 401:
        assert response.get_json()["errorCode"] == "UNAUTHORIZED"
    else:
        assert "connector_requests_total" in response.get_data(as_text=True)
