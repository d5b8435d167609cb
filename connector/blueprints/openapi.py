"""/openapi.json: the API described for clients and for schemathesis."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("openapi", __name__)
