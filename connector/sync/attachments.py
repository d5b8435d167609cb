"""Attachments: content-addressed blobs in ``sync_blobs``, described in each
revision's body under ``_attachments`` by stubs (``content_type``, ``digest``,
``length``, ``revpos``), as CouchDB and PouchDB write them (``md5-<base64>``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

import sqlalchemy as sa

from .errors import BadRequest, TooLarge
from .tables import sync_blobs

MAX_BYTES = 20 * 1024 * 1024  # the seed's limit for one attachment


def digest_of(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def save_blob(conn, data: bytes) -> str:
    """Store ``data`` once (blobs are shared by digest); its digest."""
    if len(data) > MAX_BYTES:
        raise TooLarge(f"An attachment may hold at most {MAX_BYTES} bytes.")
    digest = digest_of(data)
    stmt = sa.select(sa.literal(1)).where(sync_blobs.c.digest == digest)
    if conn.execute(stmt).first() is None:
        try:
            with conn.begin_nested():
                conn.execute(sync_blobs.insert().values(digest=digest, data=data))
        except sa.exc.IntegrityError:
            pass  # another writer stored the same bytes
    return digest


def load_blobs(conn, digests) -> dict[str, bytes]:
    wanted = sorted(set(digests))
    if not wanted:
        return {}
    stmt = sa.select(sync_blobs.c.digest, sync_blobs.c.data).where(sync_blobs.c.digest.in_(wanted))
    return {d: bytes(data) for d, data in conn.execute(stmt)}


def stub(content_type: str, digest: str, length: int, revpos: int) -> dict:
    return {
        "content_type": content_type,
        "digest": digest,
        "length": length,
        "revpos": revpos,
        "stub": True,
    }


def incoming(conn, given, previous: dict | None, generation: int) -> dict | None:
    """The ``_attachments`` of a new revision at ``generation``: inline data stored
    as blobs, stubs kept from the parent (``previous``), the rest removed."""
    if given is None:
        return None
    if not isinstance(given, dict):
        raise BadRequest("_attachments must be an object.")
    previous = previous or {}
    kept = {}
    for name, meta in given.items():
        if not isinstance(meta, dict):
            raise BadRequest(f"Attachment {name!r} must be an object.")
        if meta.get("stub"):
            old = previous.get(name)
            if old is None:
                raise BadRequest(f"Attachment {name!r} is a stub, but no earlier revision has it.")
            kept[name] = old
        elif "data" in meta:
            data = meta["data"]
            if not isinstance(data, str):
                raise BadRequest(f"Attachment {name!r}: data must be base64 text.")
            try:
                raw = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest(f"Attachment {name!r}: data is not valid base64.") from None
            content_type = meta.get("content_type") or "application/octet-stream"
            kept[name] = put(conn, raw, content_type, previous.get(name), generation)
        elif meta.get("follows"):
            raise BadRequest("Attachments sent as multipart/related are not supported; send data.")
        else:
            raise BadRequest(f"Attachment {name!r} needs data or stub.")
    return kept


def put(conn, raw: bytes, content_type: str, old: dict | None, generation: int) -> dict:
    """The stub of ``raw`` stored for a revision at ``generation``."""
    digest = save_blob(conn, raw)
    if old and old.get("digest") == digest and old.get("content_type") == content_type:
        return old  # unchanged: keeps the revpos where it last changed
    return stub(content_type, digest, len(raw), generation)


def outgoing(conn, attachments: dict, *, inline: bool, since_generation: int = 0) -> dict:
    """Stubs, or with ``inline`` the data (base64) of those changed after
    ``since_generation``."""
    chosen = [n for n, m in attachments.items() if inline and m["revpos"] > since_generation]
    blobs = load_blobs(conn, [attachments[n]["digest"] for n in chosen])
    result = {}
    for name, meta in attachments.items():
        if name in chosen and meta["digest"] in blobs:
            result[name] = {k: v for k, v in meta.items() if k != "stub"} | {
                "data": base64.b64encode(blobs[meta["digest"]]).decode()
            }
        else:
            result[name] = dict(meta, stub=True)
    return result
