"""Reading the sync API's query parameters and bodies as Sync Gateway does:
booleans as ``true``/``false``, keys and revision lists as JSON text."""

from __future__ import annotations

import json

from flask import request

from .errors import BadRequest


def flag(name: str, default: bool = False) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "1", ""):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise BadRequest(f"{name} must be true or false.")


def integer(name: str, default: int | None = None, *, minimum: int = 0) -> int | None:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer.") from None
    if number < minimum:
        raise BadRequest(f"{name} must be at least {minimum}.")
    return number


def json_arg(name: str, default=None):
    """A parameter sent as JSON text (``keys``, ``open_revs``, ``startkey``...)."""
    value = request.args.get(name)
    if value is None:
        return default
    try:
        return json.loads(value)
    except ValueError:
        if name in ("startkey", "endkey", "start_key", "end_key"):
            return value  # Sync Gateway takes a bare id here too
        raise BadRequest(f"{name} must be JSON.") from None


def body(*, required: bool = True):
    """The request body as JSON."""
    data = request.get_data(cache=True)
    if not data.strip():
        if required:
            raise BadRequest("The request needs a JSON body.")
        return {}
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise BadRequest("The body is nested too deeply.") from None


def body_object(*, required: bool = True) -> dict:
    value = body(required=required)
    if not isinstance(value, dict):
        raise BadRequest("The body must be a JSON object.")
    return value


def revs_list(value, name: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise BadRequest(f"{name} must be a JSON array of revision ids.")
    return value
