"""/v3/capabilities/get: what this database and these settings allow."""

from __future__ import annotations

from flask import Blueprint

from .. import schemas, service
from ..http import endpoint

bp = Blueprint("capabilities", __name__, url_prefix="/v3/capabilities")


@bp.post("/get")
@endpoint(schemas.CapabilitiesRequest)
def get(args):
    return service.capabilities()
