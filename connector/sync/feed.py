"""The changes feed: ``normal``, ``longpoll`` and ``continuous``.

Each document appears once, at its latest sequence. Live feeds wait on the
:class:`Waker`, one thread per process that watches the sequence counters of
the collections someone is waiting on (every 25 ms, a one-row read each), so a
change committed by any process or program wakes every waiting feed promptly.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa

from . import revisions, store
from .context import Sync
from .docs import winner_docs
from .errors import BadRequest
from .tables import sync_collections as C
from .tables import sync_docs as D

DEFAULT_TIMEOUT_MS = 300_000
MAX_TIMEOUT_MS = 1_500_000  # the seed's bound
POLL_SECONDS = 0.025

log = logging.getLogger(__name__)


def parse_since(value) -> int:
    if value in (None, "", 0):
        return 0
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    raise BadRequest(f"since must be a sequence from last_seq, not {value!r}.")


class SharedPages:
    """Answers a question once for everyone asking it at about the same moment.

    When a change wakes hundreds of feeds of one collection, they nearly all ask
    for the changes after the same sequence, one after another as the GIL lets
    them run: the first reads the database, and an answer with rows is kept for
    a second for the others (an empty one is not kept: a feed that got it waits
    again). A kept answer is never wrong, only as old as that second: the feed
    that gets it asks again from its ``last_seq``.
    """

    KEEP_SECONDS = 1.0

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple, list] = {}  # key -> [done event, answer, error, time]

    def page(self, sync: Sync, db: str, options: dict) -> tuple[list[dict], int]:
        key = (db, *sorted((k, repr(v)) for k, v in options.items()))
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0].is_set() and now - entry[3] > self.KEEP_SECONDS:
                entry = None
            owner = entry is None
            if owner:
                entry = self._entries[key] = [threading.Event(), None, None, now]
                if len(self._entries) > 256:  # old questions: nobody asks them again
                    for old in [k for k, e in self._entries.items() if e[0].is_set()]:
                        del self._entries[old]
                    self._entries[key] = entry
        if owner:
            try:
                entry[1] = page(sync, db, options)
            except Exception as exc:  # noqa: BLE001 - every asker gets the same failure
                entry[2] = exc
            with self._lock:
                if entry[2] is not None or not entry[1][0]:
                    self._entries.pop(key, None)  # only answers with rows are kept
            entry[0].set()
        else:
            entry[0].wait()
        if entry[2] is not None:
            raise entry[2]
        return entry[1]


def page(sync: Sync, db: str, options: dict) -> tuple[list[dict], int]:
    """(rows, last_seq) of the changes after ``options['since']``."""
    with sync.reading(db) as (conn, collection):
        cid = collection.id
        since = options.get("since", 0)
        # The counter first, and only rows up to it: a change committed between the
        # two reads (PostgreSQL reads each statement afresh) must not be skipped by
        # a last_seq that passed it. Sequences commit in order, so every change up
        # to the counter is visible once the counter is.
        newest = store.last_seq(conn, cid) or 0
        stmt = sa.select(D.c.doc_id, D.c.rev, D.c.deleted, D.c.seq).where(
            D.c.collection_id == cid, D.c.seq > since, D.c.seq <= newest
        )
        doc_ids = options.get("doc_ids")
        if doc_ids is not None:
            stmt = stmt.where(D.c.doc_id.in_(doc_ids) if doc_ids else sa.false())
        if options.get("active_only"):
            stmt = stmt.where(D.c.deleted == sa.false())
        stmt = stmt.order_by(D.c.seq)
        limit = options.get("limit")
        if limit is not None:
            stmt = stmt.limit(max(limit, 1))
        found = conn.execute(stmt).all()
        if limit is not None and len(found) >= max(limit, 1):
            newest = found[-1].seq
        rows = [
            {"seq": seq, "id": doc_id, "changes": [{"rev": rev}]}
            | ({"deleted": True} if deleted else {})
            for doc_id, rev, deleted, seq in found
        ]
        if rows and options.get("style") == "all_docs":
            leaves = store.leaves(conn, cid, [r["id"] for r in rows])
            for row in rows:
                ordered = sorted(leaves[row["id"]].values(), key=revisions.sort_key, reverse=True)
                row["changes"] = [{"rev": leaf.rev} for leaf in ordered]
        if rows and options.get("include_docs"):
            winners = [(doc_id, rev, bool(deleted)) for doc_id, rev, deleted, _ in found]
            docs = winner_docs(conn, collection, winners, sync.settings)
            for row, doc in zip(rows, docs, strict=True):
                row["doc"] = doc
        return rows, max(newest, since)


class Waker:
    """Lets feeds wait for a collection's sequence to pass a value."""

    def __init__(self, engine):
        self.engine = engine
        self._changed = threading.Condition()
        self._watched: dict[str, int] = {}  # collection id -> waiting feeds
        self._seqs: dict[str, int] = {}
        self._thread: threading.Thread | None = None

    def wait(self, collection_id: str, after: int, seconds: float) -> bool:
        """Whether the collection's sequence passed ``after`` within ``seconds``."""
        deadline = time.monotonic() + seconds
        with self._changed:
            self._watched[collection_id] = self._watched.get(collection_id, 0) + 1
            self._seqs.setdefault(collection_id, after)
            self._start()
            try:
                while self._seqs.get(collection_id, after) <= after:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._changed.wait(left)
                return True
            finally:
                self._watched[collection_id] -= 1
                if not self._watched[collection_id]:
                    del self._watched[collection_id]
                    self._seqs.pop(collection_id, None)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._watch, name="sync-waker", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        conn = None  # one connection of its own while anyone waits: never queued behind feeds
        while True:
            with self._changed:
                ids = sorted(self._watched)
                if not ids:
                    self._thread = None
                    if conn is not None:
                        conn.close()
                    return
            try:
                conn = conn or self.engine.connect()
                stmt = sa.select(C.c.collection_id, C.c.last_seq).where(C.c.collection_id.in_(ids))
                seqs = dict(conn.execute(stmt).all())
                conn.rollback()  # a fresh snapshot next time (MariaDB's repeatable read)
            except Exception:  # noqa: BLE001 - the database is away: keep waiting, retry
                log.warning("the changes waker could not read the sequences", exc_info=True)
                if conn is not None:
                    conn.invalidate()
                    conn.close()
                conn, seqs = None, {}
                time.sleep(1)
            with self._changed:
                moved = False
                for cid, seq in seqs.items():
                    if cid in self._seqs and seq > self._seqs[cid]:
                        self._seqs[cid] = seq
                        moved = True
                if moved:
                    self._changed.notify_all()
            time.sleep(POLL_SECONDS)
