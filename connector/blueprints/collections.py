"""/v3/collections/...: get, create, update, delete."""

from __future__ import annotations

from flask import Blueprint

from .. import schemas, service
from ..describe import describe
from ..http import endpoint

bp = Blueprint("collections", __name__, url_prefix="/v3/collections")


@bp.post("/get")
@endpoint(schemas.CollectionsGetRequest)
def get(args):
    return {"collections": [describe(c) for c in service.collections(args["collectionIds"])]}


@bp.post("/create")
@endpoint(schemas.CollectionRequest)
def create(args):
    return {"collection": describe(service.create_collection(args["collection"]))}


@bp.post("/update")
@endpoint(schemas.CollectionRequest)
def update(args):
    return {"collection": describe(service.update_collection(args["collection"]))}


@bp.post("/delete")
@endpoint(schemas.CollectionIdRequest)
def delete(args):
    service.delete_collection(args["collectionId"])
    return {}
