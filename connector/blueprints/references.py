"""/v3/items/query-referenced, insert-references, remove-references."""

from __future__ import annotations

from flask import Blueprint

from .. import references, schemas, service
from ..http import endpoint

bp = Blueprint("references", __name__, url_prefix="/v3/items")


@bp.post("/query-referenced")
@endpoint(schemas.QueryReferencedRequest)
def query_referenced(args):
    signer = service.cursors()
    return service.read(
        args["collectionId"], references.query_referenced, args, signer, service.readable
    )


@bp.post("/insert-references")
@endpoint(schemas.ReferencesRequest)
def insert_references(args):
    return {"results": service.change_references(args, insert=True)}


@bp.post("/remove-references")
@endpoint(schemas.ReferencesRequest)
def remove_references(args):
    return {"results": service.change_references(args, insert=False)}
