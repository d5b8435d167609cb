"""Revision ids and trees, as CouchDB, Sync Gateway and PouchDB agree on them.

A revision id is ``generation-digest``. The digest is deterministic (the same
parent and body give the same id, so a retried write converges): MD5 of one
byte holding the parent's length, the parent id, and the body as canonical JSON
(sorted keys, no ``_`` members but ``_deleted``, attachments by digest).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .errors import BadRequest


@dataclass(frozen=True)
class Revision:
    """One node of a document's revision tree."""

    rev: str
    parent: str | None
    generation: int
    deleted: bool
    leaf: bool
    seq: int = 0

    @property
    def digest(self) -> str:
        return self.rev.partition("-")[2]


def parse(rev) -> tuple[int, str]:
    """(generation, digest) of a revision id; BadRequest when it is not one."""
    if isinstance(rev, str):
        generation, dash, digest = rev.partition("-")
        if dash and generation.isdigit() and digest and int(generation) > 0:
            return int(generation), digest
    raise BadRequest(f"Invalid revision id {rev!r}.")


def canonical(body: dict) -> bytes:
    """The body as the digest reads it."""
    kept = {k: v for k, v in body.items() if not k.startswith("_") or k == "_deleted"}
    attachments = body.get("_attachments")
    if attachments:
        kept["_attachments"] = {name: meta.get("digest") for name, meta in attachments.items()}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def new_rev(parent: str | None, body: dict) -> str:
    """The id of the revision ``body`` makes on top of ``parent`` (None: a first one)."""
    generation = parse(parent)[0] + 1 if parent else 1
    parent_bytes = (parent or "").encode()
    digest = hashlib.md5(
        bytes([len(parent_bytes) & 0xFF]) + parent_bytes + canonical(body), usedforsecurity=False
    ).hexdigest()
    return f"{generation}-{digest}"


def sort_key(revision: Revision) -> tuple:
    """The winner is the greatest: live before deleted, then generation, then digest."""
    return (not revision.deleted, revision.generation, revision.digest)


def winner(leaves: list[Revision]) -> Revision | None:
    return max(leaves, key=sort_key, default=None)


def history(tree: dict[str, Revision], rev: str, *, limit: int) -> dict:
    """``_revisions`` of ``rev``: ``{"start", "ids"}``, newest first, at most ``limit``."""
    ids, node = [], tree.get(rev)
    start = node.generation if node else parse(rev)[0]
    while node is not None and len(ids) < limit:
        ids.append(node.digest)
        node = tree.get(node.parent) if node.parent else None
    return {"start": start, "ids": ids or [parse(rev)[1]]}


def chain(rev: str, revisions: dict | None) -> list[str]:
    """The revision ids a replicated ``_rev`` and its ``_revisions`` name, newest first."""
    parse(rev)
    if not revisions:
        return [rev]
    start, ids = revisions.get("start"), revisions.get("ids")
    if (
        not isinstance(start, int)
        or isinstance(start, bool)
        or not isinstance(ids, list)
        or not ids
        or not all(isinstance(i, str) and i for i in ids)
        or start < len(ids)
        or f"{start}-{ids[0]}" != rev
    ):
        raise BadRequest(f"_revisions does not describe revision {rev!r}.")
    return [f"{start - i}-{digest}" for i, digest in enumerate(ids)]
