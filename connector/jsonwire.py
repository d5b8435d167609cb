"""JSON responses encoded by orjson, with Flask's encoder as the fallback.

A 50-item page spends more time in the standard library's encoder than in
verifying the request's token; orjson encodes it several times faster. Values
orjson cannot write exactly (integers beyond 64 bits, strings with lone
surrogates, keys that are not strings) fall back to Flask's own encoder, so no
response changes but for speed. Request bodies are still parsed by the
standard library: orjson reads integers beyond 64 bits as floats, which would
change what a caller sent.
"""

from __future__ import annotations

import orjson
from flask.json.provider import DefaultJSONProvider

# datetimes and dataclasses go to Flask's ``default`` as they would without orjson.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class WireJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, encoding with orjson where it is exact."""

    sort_keys = False  # items keep their fields in column order

    def dumps(self, obj, **kwargs) -> str:
        if not kwargs:
            try:
                return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()
            except TypeError:
                pass
        return super().dumps(obj, **kwargs)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        if self._app.debug and self.compact is not False:
            return super().response(obj)  # the indented, debug form
        try:
            body = orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except TypeError:
            return super().response(obj)
        return self._app.response_class(body, mimetype=self.mimetype)
