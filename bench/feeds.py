"""``python -m bench.feeds``: open longpoll feeds against Wix queries' latency.

Starts the connector twice with the shipped gunicorn config, as the README's
"Live feeds" deployment does: one process for Wix, and a second one with many
threads for the sync API's live feeds. It measures the indexed query
(``query_indexed``, from ``python -m bench``'s seeded collection) with wrk,
then opens N longpoll feeds on the sync process, measures the query again with
them open, and finally commits one change and times how long each feed takes
to answer it. Results go to ``bench/results/feeds-<backend>-<N>-<time>.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy.engine import make_url

from connector import create_app
from connector.config import normalize_database_url

from . import load, seed, workloads
from .run import RESULTS, _free_port, _machine

FEEDS_DB = "benchFeeds"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.feeds", description=__doc__)
    parser.add_argument(
        "--database-url", required=True, help="A database seeded by python -m bench."
    )
    parser.add_argument("--rows", type=int, default=100_000, help="Rows it holds (100000).")
    parser.add_argument("--feeds", type=int, default=500, help="Longpoll feeds to hold open (500).")
    parser.add_argument("--threads", type=int, default=400, help="Threads per sync worker (400).")
    parser.add_argument("--duration", type=float, default=5, help="Seconds per wrk run (5).")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (4).")
    parser.add_argument(
        "--timeout", type=int, default=60_000, help="The feeds' own timeout in ms (60000)."
    )
    parser.add_argument(
        "--settle", type=float, default=15, help="Seconds for the feeds to start waiting (15)."
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def _call(base: str, method: str, path: str, key: str, body=None) -> dict:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


async def _longpoll(port: int, path: str, key: str, opened: asyncio.Event, counter: list):
    """One feed over a raw connection; the time its answer arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    await writer.drain()
    counter[0] += 1
    if counter[0] == counter[1]:
        opened.set()
    # The answer is complete at its last chunk (or its length): the server may
    # close the socket later, as gunicorn's threaded worker does from its main loop.
    head = await reader.readuntil(b"\r\n\r\n")
    body = b""
    if b"chunked" in head.lower():
        while not body.endswith(b"0\r\n\r\n"):
            body += await reader.readuntil(b"\r\n")
    else:
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
    arrived = time.monotonic()
    writer.close()
    # A feed answered by the change, not by its timeout, has rows.
    ok = head.startswith(b"HTTP/1.1 200") and b'"seq"' in body
    return arrived, ok


async def _hold_feeds(args, port, key, since, wix_base, tokens_file, wix_url):
    path = f"/sync/{FEEDS_DB}/_changes?feed=longpoll&since={since}&timeout={args.timeout}"
    opened, counter = asyncio.Event(), [0, args.feeds]
    tasks = [
        asyncio.create_task(_longpoll(port, path, key, opened, counter)) for _ in range(args.feeds)
    ]
    await opened.wait()
    # Let the servers take every connection, read the feed once and start waiting.
    await asyncio.sleep(args.settle)
    waiting = sum(not t.done() for t in tasks)
    loop = asyncio.get_running_loop()
    under_load = await loop.run_in_executor(
        None,
        lambda: load.wrk(wix_url, tokens_file, connections=args.connections, seconds=args.duration),
    )
    still_waiting = sum(not t.done() for t in tasks)
    committed = await loop.run_in_executor(None, lambda: _commit_change(wix_base, key))
    results = await asyncio.gather(*tasks)
    wakes = sorted((arrived - committed) * 1000 for arrived, ok in results if ok)
    return {
        "feeds": args.feeds,
        "waiting_before_load": waiting,
        "waiting_after_load": still_waiting,
        "answered": len(wakes),
        "timed_out": len(results) - len(wakes),
        "wake_ms": {
            "p50": round(statistics.median(wakes), 1) if wakes else None,
            "p95": round(wakes[int(len(wakes) * 0.95) - 1], 1) if wakes else None,
            "max": round(wakes[-1], 1) if wakes else None,
        },
        "query_with_feeds": under_load,
    }


def _commit_change(base: str, key: str) -> float:
    _call(base, "POST", "/v3/items/insert", key, {"collectionId": FEEDS_DB, "items": [{}]})
    return time.monotonic()  # the insert has committed when its answer arrives


def main(argv=None) -> int:
    args = parse_args(argv)
    url = normalize_database_url(args.database_url)
    backend = make_url(url).get_backend_name()
    signer, key = load.WixSigner(), secrets.token_urlsafe(24)
    env = {
        "DATABASE_URL": url,
        "WIX_APP_ID": load.APP_ID,
        "WIX_PUBLIC_KEY": signer.public_pem,
        "CONNECTOR_API_KEY": key,
        "CONNECTOR_SECRET_KEY": secrets.token_urlsafe(32),
    }
    app = create_app(env)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    if client.get(f"/sync/{FEEDS_DB}/", headers=headers).status_code == 404:
        assert client.put(f"/sync/{FEEDS_DB}/", headers=headers).status_code == 201
    since = client.get(f"/sync/{FEEDS_DB}/", headers=headers).get_json()["update_seq"]
    only = {"query_indexed"}
    (query,) = workloads.build(rows=args.rows, deep_cursor="", remove_pool=0, only=only)
    counted = client.post("/v3/items/count", json={"collectionId": seed.ITEMS}, headers=headers)
    if counted.status_code != 200:
        raise SystemExit("Seed the database with python -m bench first.")
    scratch = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    tokens = load.write_bodies(scratch / "query.txt", signer.sign_all(query.bodies))
    wix_port, sync_port = _free_port(), _free_port()
    log = scratch / "gunicorn.log"
    print(f"Feeds on {backend}: {args.feeds} longpolls, {args.threads} threads per sync worker")
    ready = "/v3/capabilities/get"
    with (
        load.Server("app:app", env=env, port=wix_port, log=log, ready_path=ready) as wix,
        load.Server(
            "app:app",
            env=env,
            port=sync_port,
            log=log,
            ready_path=ready,
            args=["--threads", str(args.threads)],
        ),
    ):
        wix_url = f"{wix.base}{query.path}"
        load.wrk(wix_url, tokens, connections=args.connections, seconds=1)
        alone = load.wrk(wix_url, tokens, connections=args.connections, seconds=args.duration)
        print(f"  query alone:      {_figures(alone)}")
        held = asyncio.run(_hold_feeds(args, sync_port, key, since, wix.base, tokens, wix_url))
        print(f"  query with feeds: {_figures(held['query_with_feeds'])}")
        print(
            f"  feeds waiting {held['waiting_after_load']}/{args.feeds},"
            f" answered {held['answered']}, timed out {held['timed_out']}, wake {held['wake_ms']}"
        )
    data = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "backend": backend,
        "machine": _machine(),
        "threads_per_sync_worker": args.threads,
        "workers": int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1)),
        "query_alone": alone,
        **held,
    }
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"feeds-{backend}-{args.feeds}-{stamp}"
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (args.output / f"{name}.md").write_text(_markdown(data))
    print(f"Results: {args.output / name}.md (.json)")
    return 0


def _figures(run: dict) -> str:
    return f"p50 {run['p50_ms']} ms  p99 {run['p99_ms']} ms  {run['rps']} req/s"


def _markdown(data: dict) -> str:
    alone, loaded, wake = data["query_alone"], data["query_with_feeds"], data["wake_ms"]
    return (
        f"# Live feeds under load: {data['backend']}, {data['feeds']} longpolls\n\n"
        f"{data['date']}; {data['workers']} workers per process, "
        f"{data['threads_per_sync_worker']} threads per sync worker.\n\n"
        "| query_indexed | req/s | p50 ms | p99 ms |\n|---|---|---|---|\n"
        f"| alone | {alone['rps']} | {alone['p50_ms']} | {alone['p99_ms']} |\n"
        f"| with the feeds open | {loaded['rps']} | {loaded['p50_ms']} | {loaded['p99_ms']} |\n\n"
        f"Feeds still waiting after the query run: {data['waiting_after_load']}"
        f" of {data['feeds']}; "
        f"answered after one committed change: {data['answered']}"
        f" (timed out instead: {data['timed_out']}).\n\n"
        f"Time from the commit to each feed's answer: p50 {wake['p50']} ms, "
        f"p95 {wake['p95']} ms, max {wake['max']} ms.\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
