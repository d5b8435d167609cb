"""``python -m bench``: seed, measure the floors, load the connector, report.

See README.md ("Benchmark") for the command and bench/results/ for past runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from connector import __version__, create_app, db
from connector.config import normalize_database_url

from . import floors, load, report, seed, workloads
from .profile import profile

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SQLITE = Path(__file__).resolve().parent / ".data" / "bench.sqlite3"
FLOOR_RESERVE = 3000  # removable items kept for the remove floor
_RNG = random.Random(99)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--database-url",
        default=None,
        help="Database to benchmark (default: a SQLite file in bench/.data/).",
    )
    parser.add_argument("--rows", type=int, default=100_000, help="Items to seed (100000).")
    parser.add_argument(
        "--concurrency",
        default="1,4,16",
        help="Comma-separated connection counts for wrk (1,4,16).",
    )
    parser.add_argument("--duration", type=float, default=5, help="Seconds per load level (5).")
    parser.add_argument(
        "--floor-seconds", type=float, default=2, help="Seconds per floor measurement (2)."
    )
    parser.add_argument(
        "--workloads",
        default=None,
        help=f"Comma-separated subset of: {', '.join(workloads.NAMES)}.",
    )
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=100_000,
        help="Requests for the worker-memory check (100000; 0 skips it).",
    )
    parser.add_argument(
        "--profile-requests",
        type=int,
        default=2000,
        help="Requests served under the profiler (2000; 0 skips it).",
    )
    parser.add_argument("--no-seed", action="store_true", help="Reuse the seeded collections.")
    parser.add_argument("--output", type=Path, default=RESULTS, help="Where results go.")
    parser.add_argument("--label", default="", help="Added to the result file names.")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also in a log
    url = args.database_url or os.environ.get("DATABASE_URL")
    if not url:
        DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DEFAULT_SQLITE}"
    url = normalize_database_url(url)
    backend = make_url(url).get_backend_name()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    only = set(args.workloads.split(",")) if args.workloads else None
    unknown = (only or set()) - set(workloads.NAMES)
    if unknown:
        raise SystemExit(f"Unknown workloads: {', '.join(sorted(unknown))}")
    # Enough removable items for every load level at a high rate, plus the floor's.
    remove_pool = int(4000 * args.duration) + FLOOR_RESERVE

    signer = load.WixSigner()
    api_key = secrets.token_urlsafe(24)
    env = {
        "DATABASE_URL": url,
        "WIX_APP_ID": load.APP_ID,
        "WIX_PUBLIC_KEY": signer.public_pem,
        "CONNECTOR_API_KEY": api_key,
        "CONNECTOR_SECRET_KEY": secrets.token_urlsafe(32),
    }
    app = create_app(env)
    headers = {"Authorization": f"Bearer {api_key}"}
    started = time.time()
    print(f"Benchmark on {backend}, {args.rows:,} rows, concurrency {levels}")
    if not args.no_seed:
        seeded = seed.seed(app, api_key, rows=args.rows, remove_pool=remove_pool)
    else:
        seeded = {"reused": True}

    deep_cursor = _cursor_at(app, headers, int(args.rows * 0.9))
    chosen = workloads.build(
        rows=args.rows,
        deep_cursor=deep_cursor,
        remove_pool=remove_pool - FLOOR_RESERVE,
        only=only,
    )
    floor_ids = [seed.remove_id(n) for n in range(remove_pool - FLOOR_RESERVE, remove_pool)]

    print("Floors (in-process, one connection):")
    floor_figures = {}
    for workload in chosen:
        if workload.floor == "captured":
            figures = floors.read_floor(app, workload, headers, seconds=args.floor_seconds)
        else:
            figures = floors.write_floor(
                app, workload, seconds=args.floor_seconds, remove_ids=floor_ids
            )
        floor_figures[workload.name] = figures
        print(
            f"  {workload.name:22} core {figures['core']['p50_ms']:8.3f} ms"
            f"  driver {figures['driver']['p50_ms']:8.3f} ms"
        )

    signed = {w.name: _tokens(signer, w) for w in chosen}
    profiled = None
    run_name = _run_name(backend, args)
    args.output.mkdir(parents=True, exist_ok=True)
    if args.profile_requests and "query_indexed" in signed:
        profiled = profile(
            app,
            "/v3/items/query",
            signed["query_indexed"],
            requests=args.profile_requests,
            text_file=args.output / f"{run_name}-profile.txt",
        )
        print(f"Profile of query_indexed: {profiled}")
    db.get_engine(app).dispose()

    port = _free_port()
    log = Path(tempfile.gettempdir()) / f"bench-gunicorn-{os.getpid()}.log"
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    trivial_body = load.write_bodies(scratch / "trivial.txt", signed[chosen[0].name][:1])
    print("Trivial endpoint (the web stack's ceiling):")
    trivial = {}
    with load.Server("bench.trivial:app", env=env, port=port, log=log, ready_path="/trivial"):
        load.wrk(f"http://127.0.0.1:{port}/trivial", trivial_body, connections=4, seconds=1)
        for c in levels:
            trivial[c] = load.wrk(
                f"http://127.0.0.1:{port}/trivial",
                trivial_body,
                connections=c,
                seconds=args.duration,
            )
            print(f"  c={c:<3} {trivial[c]['rps']:9.1f} req/s  p50 {trivial[c]['p50_ms']} ms")

    print("Connector under gunicorn:")
    results, memory = {}, None
    with load.Server(
        "app:app", env=env, port=port, log=log, ready_path="/v3/capabilities/get"
    ) as server:
        for workload in chosen:
            bodies = load.write_bodies(scratch / f"{workload.name}.txt", signed[workload.name])
            target = f"http://127.0.0.1:{port}{workload.path}"
            results[workload.name] = {}
            for c in levels:
                if workload.unique:
                    # wrk stops with requests in flight: let the server finish them
                    # before putting back what they removed.
                    time.sleep(1)
                    _restore_removed(app, api_key, workload)
                figures = load.wrk(target, bodies, connections=c, seconds=args.duration)
                results[workload.name][c] = figures
                print(
                    f"  {workload.name:22} c={c:<3} {figures['rps']:9.1f} req/s"
                    f"  p50 {figures['p50_ms']:8.3f}  p99 {figures['p99_ms']:8.3f}"
                    + (
                        f"  ERRORS {figures['errors']}: {figures['first_error']}"
                        if figures["errors"]
                        else ""
                    )
                )
        if args.memory_requests and "query_indexed" in signed:
            memory = _memory_check(server, scratch, signed["query_indexed"], args.memory_requests)
            print(f"Worker memory over {memory['requests']:,} requests: {memory['workers']}")

    data = {
        "run": run_name,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "backend": backend,
        "database_url": make_url(url).render_as_string(hide_password=True),
        "rows": args.rows,
        "concurrency": levels,
        "duration_s": args.duration,
        "machine": _machine(),
        "connector_version": __version__,
        "commit": _commit(),
        "seed": seeded,
        "trivial": trivial,
        "workloads": {
            w.name: {
                "path": w.path,
                "levels": results[w.name],
                "floor": floor_figures[w.name],
            }
            for w in chosen
        },
        "profile": profiled,
        "memory": memory,
        "wall_s": round(time.time() - started, 1),
    }
    report.write(data, args.output, previous=report.previous_run(args.output, data))
    print(f"Results: {args.output / run_name}.md (.json, .png)")
    return 0


def _tokens(signer, workload) -> list[str]:
    return signer.sign_all(workload.bodies)


def _cursor_at(app, headers, depth: int) -> str:
    """A cursor to the page after the first ``depth`` items by rank, found by
    walking cursor pages as a client would."""
    client = app.test_client()
    query = {"sort": [{"fieldName": "rank", "order": "ASC"}]}
    cursor, walked = None, 0
    while walked < depth:
        step = min(1000, depth - walked)
        paging = {"limit": step, **({"cursor": cursor} if cursor else {})}
        body = {"collectionId": seed.ITEMS, "query": {**query, "cursorPaging": paging}}
        if cursor:
            body["query"] = {"cursorPaging": paging}
        page = client.post("/v3/items/query", json=body, headers=headers).get_json()
        walked += page["pagingMetadata"]["count"]
        cursor = page["pagingMetadata"]["cursors"].get("next")
        if not cursor:
            raise RuntimeError(f"The collection ended after {walked} items.")
    return cursor


def _restore_removed(app, api_key, workload) -> None:
    """Put the items a remove workload removes back, so every level finds them."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_key}"}
    ids = [body["itemIds"][0] for body in workload.bodies]
    for at in range(0, len(ids), 1000):
        chunk = ids[at : at + 1000]
        query = {"filter": {"_id": {"$in": chunk}}, "fields": ["_id"], "paging": {"limit": 1000}}
        found = client.post(
            "/v3/items/query", json={"collectionId": seed.ITEMS, "query": query}, headers=headers
        ).get_json()
        present = {item["_id"] for item in found["items"]}
        missing = [
            {**seed.make_item(0, 1, _RNG, item_key=i), "rank": 10**9, "category": "rm"}
            for i in chunk
            if i not in present
        ]
        if missing:
            client.post(
                "/v3/items/insert",
                json={"collectionId": seed.ITEMS, "items": missing},
                headers=headers,
            )


def _memory_check(server, scratch, tokens, requests) -> dict:
    bodies = load.write_bodies(scratch / "memory.txt", tokens)
    target = f"{server.base}/v3/items/query"
    load.wrk(target, bodies, connections=8, seconds=2)  # past start-up allocations
    before = server.rss_kib()
    done = 0
    while done < requests:
        done += load.wrk(target, bodies, connections=8, seconds=10)["requests"]
    after = server.rss_kib()
    return {
        "requests": done,
        "workers": {
            str(pid): {
                "start_mib": round(before[pid] / 1024, 1),
                "end_mib": round(after.get(pid, 0) / 1024, 1),
            }
            for pid in before
        },
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "host": platform.node(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "workers": int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1)),
        "threads": int(os.environ.get("GUNICORN_THREADS") or 4),
    }


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def _run_name(backend: str, args) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    label = f"-{args.label}" if args.label else ""
    return f"{backend}-{args.rows}{label}-{stamp}"
