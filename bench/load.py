"""The load side: gunicorn started with the shipped config, wrk driving it.

wrk runs as a separate process (C, epoll) so the load generator does not share
the server's interpreter; bench/wrk.lua cycles through pre-signed bodies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "wrk.lua"
APP_ID = "bench-app"


class WixSigner:
    """Signs request bodies as Wix does (RS256 JWT, ``data.request`` + metadata)."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_pem = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign_all(self, requests: list[dict], *, hours: float = 6) -> list[str]:
        """Signed bodies for ``requests`` (in parallel: RSA signing is the slow part)."""
        if len(requests) < 200:
            return _sign_chunk((self.private_pem, requests, hours))
        with ProcessPoolExecutor() as pool:
            chunks = [requests[i : i + 500] for i in range(0, len(requests), 500)]
            signed = pool.map(_sign_chunk, [(self.private_pem, c, hours) for c in chunks])
            return [token for chunk in signed for token in chunk]


def _sign(private_key, request: dict, hours: float, *, number: int = 0) -> str:
    now = int(time.time())
    payload = {
        "iss": "wix.com",
        "aud": APP_ID,
        "iat": now,
        "exp": now + int(hours * 3600),
        "data": {
            "request": request,
            "metadata": {
                "requestId": f"bench-{now}-{number}",
                "instanceId": "bench-instance",
                "identity": {"identityType": "WIX_USER", "wixUserId": "bench-user"},
            },
        },
    }
    return jwt.encode(payload, private_key, algorithm="RS256")


def _sign_chunk(args) -> list[str]:
    private_pem, requests, hours = args
    # Loading a PEM key checks it (slow): once per chunk, not per token.
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return [_sign(key, r, hours, number=i) for i, r in enumerate(requests)]


class Server:
    """gunicorn running ``app_spec`` with gunicorn.conf.py on a loopback port."""

    def __init__(self, app_spec: str, *, env: dict, port: int, log: Path, ready_path: str, args=()):
        self.app_spec = app_spec
        self.args = list(args)  # gunicorn options beyond the config (a second process's)
        self.env = {**os.environ, **env, "PORT": str(port)}
        self.port = port
        self.log = log
        self.ready_path = ready_path
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self._log = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", *self.args, self.app_spec],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            if self._ready() and len(self.worker_pids()) >= self.expected_workers():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become ready; see {self.log}")

    def expected_workers(self) -> int:
        return int(self.env.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))

    def _ready(self) -> bool:
        request = urllib.request.Request(self.base + self.ready_path, data=b"{}", method="POST")
        request.add_header("Authorization", f"Bearer {self.env.get('CONNECTOR_API_KEY', '')}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def rss_kib(self) -> dict[int, int]:
        """Resident memory of each worker, in KiB (from /proc)."""
        sizes = {}
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes[pid] = int(line.split()[1])
            except OSError:
                continue
        return sizes

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def wrk(url: str, bodies_file: Path, *, connections: int, seconds: float) -> dict:
    """One wrk run: figures in requests/s and milliseconds."""
    threads = 1 if connections < 4 else 2
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        url,
        "--",
        str(bodies_file),
        "/" + url.split("/", 3)[3],
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
    figures = json.loads(lines[-1])
    seconds_run = figures["duration_us"] / 1e6
    return {
        "connections": connections,
        "requests": figures["requests"],
        "rps": round(figures["requests"] / seconds_run, 1),
        "p50_ms": round(figures["p50_us"] / 1000, 3),
        "p90_ms": round(figures["p90_us"] / 1000, 3),
        "p99_ms": round(figures["p99_us"] / 1000, 3),
        "mean_ms": round(figures["mean_us"] / 1000, 3),
        "errors": figures["errors"] + figures["socket_errors"],
        "first_error": figures["first_error"],
    }


def write_bodies(path: Path, tokens: list[str]) -> Path:
    path.write_text("\n".join(tokens) + "\n")
    return path
