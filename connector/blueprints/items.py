"""/v3/items/...: query, count, aggregate, distinct values, and writes."""

from __future__ import annotations

from flask import Blueprint

from .. import aggregates, queries, references, schemas, service, writes
from ..http import endpoint

bp = Blueprint("items", __name__, url_prefix="/v3/items")


@bp.post("/query")
@endpoint(schemas.QueryRequest)
def query(args):
    signer = service.cursors()
    return service.read(
        args["collectionId"], references.query_items, args, signer, service.readable
    )


@bp.post("/count")
@endpoint(schemas.CountRequest)
def count(args):
    return {"totalCount": service.read(args["collectionId"], queries.count, args.get("filter"))}


@bp.post("/aggregate")
@endpoint(schemas.AggregateRequest)
def aggregate(args):
    return service.read(args["collectionId"], aggregates.aggregate, args)


@bp.post("/query-distinct-values")
@endpoint(schemas.DistinctRequest)
def distinct_values(args):
    return service.read(args["collectionId"], aggregates.distinct_values, args)


@bp.post("/insert")
@endpoint(schemas.ItemsRequest)
def insert(args):
    results = service.write(
        args["collectionId"], writes.insert, args["items"], operation="insert", items=args["items"]
    )
    return {"results": results}


@bp.post("/update")
@endpoint(schemas.ItemsRequest)
def update(args):
    results = service.write(
        args["collectionId"], writes.update, args["items"], operation="update", items=args["items"]
    )
    return {"results": results}


@bp.post("/remove")
@endpoint(schemas.RemoveRequest)
def remove(args):
    return {
        "results": service.write(
            args["collectionId"], writes.remove, args["itemIds"], operation="remove"
        )
    }


@bp.post("/truncate")
@endpoint(schemas.TruncateRequest)
def truncate(args):
    service.write(args["collectionId"], writes.truncate, operation="truncate")
    return {}
