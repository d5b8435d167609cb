"""/v3/indexes/...: list, create, remove."""

from __future__ import annotations

from flask import Blueprint

from .. import schemas, service
from ..http import endpoint

bp = Blueprint("indexes", __name__, url_prefix="/v3/indexes")


@bp.post("/list")
@endpoint(schemas.CollectionIdRequest)
def list_(args):
    return {"indexes": service.list_indexes(args["collectionId"])}


@bp.post("/create")
@endpoint(schemas.IndexCreateRequest)
def create(args):
    return {"index": service.create_index(args["collectionId"], args["index"])}


@bp.post("/remove")
@endpoint(schemas.IndexRemoveRequest)
def remove(args):
    service.remove_index(args["collectionId"], args["indexName"])
    return {}
