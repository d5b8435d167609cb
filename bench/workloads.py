"""The benchmark's workloads: what Wix asks of a collection while a visitor waits.

Each workload is an endpoint and the request bodies sent to it, cycled by the
load generator (``unique`` workloads use each body once: every remove removes
another item). The SQL floor of read workloads is the SQL the connector itself
sends for the first body (bench/floors.py); write workloads have a hand-written
Core floor, as the issue defines it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from . import seed
from .seed import ITEMS, NEEDLE


@dataclass(frozen=True)
class Workload:
    name: str
    path: str
    bodies: list[dict]
    #: each body is sent once (the load stops when they run out)
    unique: bool = False
    #: "captured": replay the connector's own statements; else a write floor's name
    floor: str = "captured"


def _query(query: dict, **extra) -> dict:
    return {"collectionId": ITEMS, "query": query, **extra}


def build(*, rows: int, deep_cursor: str, remove_pool: int, only=None) -> list[Workload]:
    """Every workload for a collection of ``rows`` items.

    :param deep_cursor: a cursor to the page at 90% depth by ``rank``.
    :param remove_pool: how many ``rm`` items exist for the remove workload.
    :param only: names to keep (None: all).
    """
    rng = random.Random(7)
    picks = [seed.category(rng.randrange(rows), rows) for _ in range(64)]
    by_rank = [{"fieldName": "rank", "order": "ASC"}]
    deep = int(rows * 0.9)
    workloads = [
        Workload(
            "query_indexed",
            "/v3/items/query",
            [_query({"filter": {"category": c}, "paging": {"limit": 50}}) for c in picks],
        ),
        Workload(
            "query_sort_contains",
            "/v3/items/query",
            [
                _query(
                    {
                        "filter": {"title": {"$contains": NEEDLE}},
                        "sort": [{"fieldName": "price", "order": "DESC"}],
                        "paging": {"limit": 50},
                    }
                )
            ],
        ),
        Workload(
            "count_filter",
            "/v3/items/count",
            [
                {"collectionId": ITEMS, "filter": {"price": {"$gte": p, "$lt": p + 100}}}
                for p in range(0, 900, 100)
            ],
        ),
        Workload(
            "aggregate_grouped",
            "/v3/items/aggregate",
            [
                {
                    "collectionId": ITEMS,
                    "initialFilter": {"active": True},
                    "aggregation": {
                        "groupingFields": ["kind"],
                        "operations": [
                            {"resultFieldName": "items", "itemCount": {}},
                            {
                                "resultFieldName": "averagePrice",
                                "average": {"itemFieldName": "price"},
                            },
                            {"resultFieldName": "top", "max": {"itemFieldName": "price"}},
                        ],
                    },
                    "sort": [{"fieldName": "items", "order": "DESC"}],
                }
            ],
        ),
        Workload(
            "distinct_values",
            "/v3/items/query-distinct-values",
            [{"collectionId": ITEMS, "fieldName": "kind", "filter": {"active": True}}],
        ),
        Workload(
            "page_first_cursor",
            "/v3/items/query",
            [_query({"sort": by_rank, "cursorPaging": {"limit": 50}})],
        ),
        Workload(
            "page_deep_cursor",
            "/v3/items/query",
            [_query({"cursorPaging": {"limit": 50, "cursor": deep_cursor}})],
        ),
        Workload(
            "page_first_offset",
            "/v3/items/query",
            [_query({"sort": by_rank, "paging": {"limit": 50, "offset": 0}})],
        ),
        Workload(
            "page_deep_offset",
            "/v3/items/query",
            [_query({"sort": by_rank, "paging": {"limit": 50, "offset": deep}})],
        ),
        Workload(
            "query_include_refs",
            "/v3/items/query",
            [
                _query(
                    {"filter": {"category": c}, "paging": {"limit": 50}},
                    includeReferencedItems=[{"fieldKey": "owner"}, {"fieldKey": "watchers"}],
                )
                for c in picks
            ],
        ),
        Workload(
            "insert_1",
            "/v3/items/insert",
            # No _id: the connector makes one, so every request inserts a new item.
            [
                {"collectionId": ITEMS, "items": [seed.inserted_item(n, rows, rng)]}
                for n in range(64)
            ],
            floor="insert",
        ),
        Workload(
            "insert_1000",
            "/v3/items/insert",
            [
                {
                    "collectionId": ITEMS,
                    "items": [seed.inserted_item(n, rows, rng) for n in range(b, b + 1000)],
                }
                for b in range(0, 4000, 1000)
            ],
            floor="insert",
        ),
        Workload(
            "update_1",
            "/v3/items/update",
            [
                {
                    "collectionId": ITEMS,
                    "items": [seed.make_item(n, rows, rng, item_key=seed.item_id(n))],
                }
                for n in rng.sample(range(rows), min(rows, 256))
            ],
            floor="update",
        ),
        Workload(
            "remove_1",
            "/v3/items/remove",
            [{"collectionId": ITEMS, "itemIds": [seed.remove_id(n)]} for n in range(remove_pool)],
            unique=True,
            floor="remove",
        ),
    ]
    if only:
        workloads = [w for w in workloads if w.name in only]
    return workloads


NAMES = [
    "query_indexed",
    "query_sort_contains",
    "count_filter",
    "aggregate_grouped",
    "distinct_values",
    "page_first_cursor",
    "page_deep_cursor",
    "page_first_offset",
    "page_deep_offset",
    "query_include_refs",
    "insert_1",
    "insert_1000",
    "update_1",
    "remove_1",
]
