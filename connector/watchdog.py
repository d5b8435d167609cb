"""A client-side deadline for database calls the server may never answer.

A statement timeout runs on the server: when the network silently drops a
pooled connection (a NAT or firewall forgetting it, a frozen host), the
server never sees the statement and the driver waits forever, holding a
request and its pool slot. psycopg has no client-side timeout, so one thread
per process watches in-flight calls and shuts the socket of any call past its
deadline: the driver then fails at once, SQLAlchemy drops the connection, and
the request answers 503. (PyMySQL gets ``read_timeout`` instead.)
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time

_POLL = 0.25  # seconds between looks at the in-flight calls


class Watchdog:
    """In-flight database calls and their deadlines."""

    def __init__(self):
        self._calls: dict[int, tuple[float, int]] = {}  # token -> (deadline, socket fd)
        self._tokens = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, fd: int, seconds: float) -> int:
        """Watch a call on socket ``fd`` for ``seconds``; returns its token for :meth:`stop`."""
        token = next(self._tokens)
        self._calls[token] = (time.monotonic() + seconds, fd)
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._watch, name="connector-db-watchdog", daemon=True
                    )
                    self._thread.start()
        return token

    def stop(self, token: int) -> None:
        self._calls.pop(token, None)

    def _watch(self) -> None:
        while True:
            time.sleep(_POLL)
            now = time.monotonic()
            for token, (deadline, fd) in list(self._calls.items()):
                if now > deadline and self._calls.pop(token, None) is not None:
                    _shut(fd)


def _shut(fd: int) -> None:
    """End the connection on ``fd`` so the call blocked on it fails now."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return  # already closed
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


WATCHDOG = Watchdog()
