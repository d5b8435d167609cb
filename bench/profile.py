"""Where a request's server time goes, by a sampling profiler (pyinstrument).

The connector serves a workload in-process (the WSGI app, no network) while
pyinstrument samples it; the share of token verification and of JSON encoding
is their frames' time over the time inside Flask's ``wsgi_app``.
"""

from __future__ import annotations

from pathlib import Path

from pyinstrument import Profiler

#: (label, file path ending, function) of the frames whose time is counted.
PARTS = {
    "server": ("flask/app.py", "wsgi_app"),
    "token": ("connector/auth.py", "verify"),
    "json_encoding": ("flask/json/__init__.py", "jsonify"),
}


def _time_in(frame, file_end: str, function: str) -> float:
    """Total time of the outermost frames matching (nested matches not counted twice)."""
    if frame.function == function and (frame.file_path or "").endswith(file_end):
        return frame.time
    return sum(_time_in(child, file_end, function) for child in frame.children)


def profile(app, path: str, tokens: list[str], *, requests: int, text_file: Path | None) -> dict:
    """Serve ``requests`` signed bodies to ``path`` under the profiler."""
    client = app.test_client()

    def serve(n):
        for i in range(n):
            response = client.post(path, data=tokens[i % len(tokens)], content_type="text/plain")
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.get_data(True)}")

    serve(50)  # warm the schema cache, compiled statements and the pool
    profiler = Profiler(interval=0.0002)
    profiler.start()
    serve(requests)
    profiler.stop()
    root = profiler.last_session.root_frame()
    times = {label: _time_in(root, *where) for label, where in PARTS.items()}
    if text_file is not None:
        text_file.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    server = times["server"] or 1.0
    return {
        "requests": requests,
        "server_ms_per_request": round(server / requests * 1000, 3),
        "token_share": round(times["token"] / server, 3),
        "json_encoding_share": round(times["json_encoding"] / server, 3),
        "token_and_json_share": round((times["token"] + times["json_encoding"]) / server, 3),
    }
