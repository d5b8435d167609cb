"""The shipped serving files, for real: gunicorn with gunicorn.conf.py behind
nginx with deploy/nginx.conf, on loopback ports, on every backend.

Signed Wix requests, API-key writes, the health checks and an oversized body go
through nginx to gunicorn's workers and back.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import API_KEY, APP_ID, IN_CI, SECRET_KEY, TEXT_ID, create_table, sign

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def post(url: str, body: bytes, headers: dict) -> tuple[int, dict | None]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, None


def site_file(tmp_path: Path, nginx_port: int, gunicorn_port: int) -> Path:
    """deploy/nginx.conf as shipped, pointed at the test's ports, inside a
    minimal main configuration that keeps every file in ``tmp_path``."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    for shipped, ours in [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{gunicorn_port};"),
        ("server 127.0.0.1:8001;", f"server 127.0.0.1:{gunicorn_port};"),
        ("listen 80;", f"listen 127.0.0.1:{nginx_port};"),
        ("listen [::]:80;", ""),
    ]:
        assert shipped in site, f"deploy/nginx.conf no longer has {shipped!r}"
        site = site.replace(shipped, ours)
    (tmp_path / "site.conf").write_text(site)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    main = tmp_path / "nginx.conf"
    # As root nginx's workers would run as nobody, who cannot enter pytest's 0700
    # temporary folders; the test's own nginx keeps the test's user.
    user = "user root;" if os.geteuid() == 0 else ""
    main.write_text(
        f"""
{user}
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log {tmp_path}/access.log;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
"""
    )
    return main


@pytest.fixture
def served(database_url, engine, public_pem, tmp_path):
    """gunicorn (2 workers, the shipped config) behind nginx (the shipped site);
    yields nginx's base URL."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        message = "nginx is not installed (.ci/run installs Debian's nginx-light)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(f"SKIPPED LOUDLY: {message}")
    create_table(
        engine,
        "people",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(50)),
        rows=[{"_id": "a", "name": "Ada"}],
    )
    gunicorn_port, nginx_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WIX_APP_ID": APP_ID,
        "WIX_PUBLIC_KEY": public_pem,
        "CONNECTOR_API_KEY": API_KEY,
        "CONNECTOR_SECRET_KEY": SECRET_KEY,
        "CONNECTOR_PROXY_HOPS": "1",
        "WEB_CONCURRENCY": "2",
    }
    env.pop("PORT", None)
    log = (tmp_path / "gunicorn.log").open("w")
    app_server = subprocess.Popen(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{gunicorn_port}", "app:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proxy = None
    try:
        wait_for(f"http://127.0.0.1:{gunicorn_port}/healthz")
        config = site_file(tmp_path, nginx_port, gunicorn_port)
        checked = subprocess.run(
            [nginx, "-t", "-c", str(config), "-p", str(tmp_path)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr
        proxy = subprocess.Popen(
            [nginx, "-c", str(config), "-p", str(tmp_path), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{nginx_port}"
        wait_for(base + "/healthz")
        yield base, tmp_path
    finally:
        for process in (proxy, app_server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        log.close()


def test_signed_requests_and_writes_go_through_nginx_to_gunicorn(served, rsa_key, engine):
    base, logs = served
    request = {"collectionId": "people", "query": {}}
    status, body = post(
        base + "/v3/items/query", sign(rsa_key, request).encode(), {"Content-Type": "text/plain"}
    )
    assert status == 200, body
    assert body["items"] == [{"_id": "a", "name": "Ada"}]

    insert = {"collectionId": "people", "items": [{"_id": "b", "name": "Bob"}]}
    status, body = post(
        base + "/v3/items/insert",
        json.dumps(insert).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"},
    )
    assert (status, body) == (200, {"results": [{"item": {"_id": "b", "name": "Bob"}}]})
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM people WHERE _id = 'b'").scalar() == "Bob"

    # The request log (JSON lines on gunicorn's stdout) names the signed call's Wix ids.
    request_id = "req-through-nginx"
    metadata = {"requestId": request_id, "instanceId": "i-1", "identity": {}}
    post(
        base + "/v3/items/count",
        sign(rsa_key, {"collectionId": "people"}, metadata=metadata).encode(),
        {"Content-Type": "text/plain"},
    )
    time.sleep(0.3)
    lines = [
        json.loads(line)
        for line in (logs / "gunicorn.log").read_text().splitlines()
        if line.startswith("{")
    ]
    counted = [line for line in lines if line.get("requestId") == request_id]
    assert len(counted) == 1, lines
    assert counted[0]["path"] == "/v3/items/count" and counted[0]["status"] == 200
    assert counted[0]["instanceId"] == "i-1" and counted[0]["collectionId"] == "people"
    assert isinstance(counted[0]["ms"], float)


def test_health_checks_and_an_oversized_body_through_nginx(served):
    base, _ = served
    with urllib.request.urlopen(base + "/readyz", timeout=10) as response:
        assert (response.status, json.loads(response.read())) == (
            200,
            {"status": "ready", "databases": 1},
        )
    # Over the 16 MiB limit: refused before it reaches gunicorn, in the contract's format.
    status, body = post(
        base + "/v3/items/query",
        b"x" * (16 * 1024 * 1024 + 1024),
        {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"},
    )
    assert status == 413, body
    assert body is not None and body["errorCode"] == "PAYLOAD_TOO_LARGE", body
    assert set(body) == {"errorCode", "errorMessage", "data"}


def test_metrics_sum_every_gunicorn_worker(served, rsa_key):
    base, _ = served
    request = sign(rsa_key, {"collectionId": "people", "query": {}}).encode()
    for _ in range(8):  # spread over both workers by gunicorn
        assert post(base + "/v3/items/query", request, {"Content-Type": "text/plain"})[0] == 200
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    line = 'connector_requests_total{endpoint="/v3/items/query",status="200"}'
    counted = [float(row.split()[-1]) for row in text.splitlines() if row.startswith(line)]
    assert counted == [8.0], text[:2000]
