"""GET /, the status page, as a person sees it: rendered by headless Chromium
(Debian's chromium, installed by .ci/run), on every backend."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import threading

import pytest
import sqlalchemy as sa
from conftest import API_KEY, IN_CI, TEXT_ID, create_table
from werkzeug.serving import make_server

from connector import __version__, create_app

BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MySQL / MariaDB"}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        message = "chromium is not installed (.ci/run installs Debian's chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(f"SKIPPED LOUDLY: {message}")
    return found


def rendered(application, tmp_path) -> dict[str, str]:
    """The text of the page's fields after Chromium rendered it, by element id."""
    browser = chromium()
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--dump-dom",
                f"http://127.0.0.1:{server.server_port}/",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<title>Wix connector</title>" in dom, dom[:500]
    fields = dict(re.findall(r'<dd id="([\w-]+)"[^>]*>(.*?)</dd>', dom, flags=re.DOTALL))
    return {key: html.unescape(" ".join(value.split())) for key, value in fields.items()}


def test_the_status_page_shows_what_a_person_needs_and_nothing_secret(
    app_config, engine, backend, tmp_path
):
    for name in ("people", "pets"):
        create_table(engine, name, sa.Column("_id", TEXT_ID, primary_key=True))
    application = create_app(app_config)
    try:
        fields = rendered(application, tmp_path)
    finally:
        application.extensions["connector.engine"].dispose()
    assert fields == {
        "version": __version__,
        "database": BACKEND_NAMES[backend],
        "collections": "2",
        "wix-key": "configured (1)",
    }
    page = application.test_client().get("/").get_data(as_text=True)
    url = sa.engine.make_url(app_config["DATABASE_URL"])
    for secret in (API_KEY, app_config["CONNECTOR_SECRET_KEY"], "people", url.database):
        assert secret not in page


def test_the_status_page_says_when_the_wix_key_is_missing(app_config, tmp_path):
    application = create_app({**app_config, "WIX_PUBLIC_KEY": None})
    try:
        fields = rendered(application, tmp_path)
    finally:
        application.extensions["connector.engine"].dispose()
    assert fields["wix-key"] == "not configured: set WIX_PUBLIC_KEY"
