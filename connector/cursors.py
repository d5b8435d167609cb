"""Opaque, tamper-evident cursors for cursor paging.

A cursor carries everything a follow-up page needs (collection, filter, sort,
projection, limit, and the sort-key values of the row to continue from), signed
with the connector's secret so it can be neither forged nor edited.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid

from itsdangerous import BadSignature, URLSafeSerializer

from .errors import BadRequest

_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_\-.]+")


class CursorSigner:
    """Signs and reads cursors.

    :param secret: ``CONNECTOR_SECRET_KEY``, or the secret kept in the database.
    """

    def __init__(self, secret: str):
        self._serializer = URLSafeSerializer(secret, salt="connector.cursor")

    def dump(self, payload: dict) -> str:
        return self._serializer.dumps(payload)

    def load(self, cursor: str, *, collection_id: str) -> dict:
        """The payload of ``cursor``, which must belong to ``collection_id``."""
        try:
            # Only the serializer's own alphabet: its base64 reading skips other
            # characters, which would let an edited cursor pass.
            if not isinstance(cursor, str) or not _CURSOR_TEXT.fullmatch(cursor):
                raise BadSignature("not a cursor")
            payload = self._serializer.loads(cursor)
        except BadSignature:
            raise BadRequest(
                "The cursor is not valid (it was changed or is from elsewhere).", cursor=cursor
            ) from None
        if not isinstance(payload, dict) or payload.get("c") != collection_id:
            raise BadRequest("The cursor belongs to another collection.", cursor=cursor)
        return payload


# Sort-key values go into the cursor exactly (microseconds, decimals), tagged by type.
_TAGS = {dt.datetime: "dt", dt.date: "d", dt.time: "t", decimal.Decimal: "n", uuid.UUID: "u"}
_READERS = {
    "dt": dt.datetime.fromisoformat,
    "d": dt.date.fromisoformat,
    "t": dt.time.fromisoformat,
    "n": decimal.Decimal,
    "u": uuid.UUID,
}


def encode_key(value):
    """A sort-key value as JSON, exactly (tagged when JSON has no such type)."""
    tag = _TAGS.get(type(value))
    if tag is not None:
        return {tag: value.isoformat() if tag in ("dt", "d", "t") else str(value)}
    if isinstance(value, dt.timedelta):
        return {"t": (dt.datetime.min + value).time().isoformat()}
    return value


def decode_key(value):
    """The value ``encode_key`` encoded."""
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        return _READERS[tag](text)
    return value
