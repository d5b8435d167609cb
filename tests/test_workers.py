"""Schema changes across real gunicorn workers, on every backend.

gunicorn runs the shipped config with two workers and a catalog TTL of an hour,
so only the schema version check can make a worker drop what it cached. The
request log's ``pid`` and the Wix ``requestId`` tell which worker served what.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import API_KEY, APP_ID, SECRET_KEY, sign
from test_deploy import GUNICORN, ROOT, free_port, post, wait_for

NOTES = {"id": "notes", "fields": [{"key": "title", "type": "TEXT"}]}
BATCH = 8
BATCHES = 25  # 200 requests: far more than two workers need to both serve some


@pytest.fixture
def workers(database_url, public_pem, tmp_path):
    """gunicorn with gunicorn.conf.py and two workers; yields (base URL, log path)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WIX_APP_ID": APP_ID,
        "WIX_PUBLIC_KEY": public_pem,
        "CONNECTOR_API_KEY": API_KEY,
        "CONNECTOR_SECRET_KEY": SECRET_KEY,
        "CONNECTOR_SCHEMA_TTL": "3600",  # the TTL cannot be what helps
        "WEB_CONCURRENCY": "2",
    }
    env.pop("PORT", None)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "app:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/healthz")
            yield base, log_path
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


def direct(base, path, request):
    return post(
        base + path,
        json.dumps(request).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"},
    )


def pids_by_request(log_path) -> dict[str, int]:
    lines = [json.loads(t) for t in log_path.read_text().splitlines() if t.startswith("{")]
    return {line["requestId"]: line["pid"] for line in lines if "requestId" in line}


def query_until_both_workers_served(base, log_path, rsa_key, label) -> list[dict]:
    """Signed queries of notes, BATCH at a time, until both workers have served
    one of them; the items of every response."""
    sent, answers = 0, []

    def query(request_id):
        metadata = {"requestId": request_id, "instanceId": "i-1", "identity": {}}
        body = sign(rsa_key, {"collectionId": "notes", "query": {}}, metadata=metadata)
        status, answer = post(
            base + "/v3/items/query", body.encode(), {"Content-Type": "text/plain"}
        )
        assert status == 200, answer
        return answer["items"]

    with ThreadPoolExecutor(BATCH) as pool:
        for _ in range(BATCHES):
            ids = [f"{label}-{sent + i}" for i in range(BATCH)]
            sent += BATCH
            answers += pool.map(query, ids)
            time.sleep(0.2)  # the workers' log lines reach the file
            pids = {pid for rid, pid in pids_by_request(log_path).items() if rid.startswith(label)}
            if len(pids) == 2:
                return answers
    pytest.fail(f"{sent} requests all went to one worker: {pids}")


def test_a_schema_change_through_one_worker_is_seen_by_both(workers, rsa_key):
    base, log_path = workers
    assert direct(base, "/v3/collections/create", {"collection": NOTES})[0] == 200
    status, body = direct(
        base, "/v3/items/insert", {"collectionId": "notes", "items": [{"_id": "n1", "title": "T"}]}
    )
    assert status == 200 and "item" in body["results"][0], body
    before = query_until_both_workers_served(base, log_path, rsa_key, "before")
    assert all([item["_id"] for item in items] == ["n1"] for items in before)
    assert all("body" not in items[0] for items in before)  # both workers cached notes

    added = {**NOTES, "fields": [*NOTES["fields"], {"key": "body", "type": "TEXT"}]}
    assert direct(base, "/v3/collections/update", {"collection": added})[0] == 200
    after = query_until_both_workers_served(base, log_path, rsa_key, "after")
    stale = [items for items in after if "body" not in items[0]]
    assert stale == [], f"{len(stale)} of {len(after)} answers used the old schema"
    assert all(items[0]["body"] is None and items[0]["title"] == "T" for items in after)
