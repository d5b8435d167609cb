"""/openapi.json: the API described for clients and for schemathesis."""

from __future__ import annotations

from flask import Blueprint, Response

from ..openapi import document_json

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI document of the /v3 API; no authentication (it is static)."""
    return Response(document_json(), mimetype="application/json")
