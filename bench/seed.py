"""The benchmark's data: two collections made and filled through the connector itself.

``benchItems`` has a text, number, boolean, datetime and JSON column of every
common kind, indexes on the filtered and sorted columns, a REFERENCE to
``benchOwners`` and a MULTI_REFERENCE (``watchers``) to it. Rows are generated
from a fixed seed, so every run on every backend holds the same data.
"""

from __future__ import annotations

import datetime as dt
import random
import time

ITEMS = "benchItems"
OWNERS = "benchOwners"
OWNER_COUNT = 1000
KINDS = [f"kind{k}" for k in range(10)]
#: A word in about one title in twenty: what the ``$contains`` workload looks for.
NEEDLE = "lantern"
_WORDS = [
    "amber",
    "basin",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "grove",
    "harbor",
    "island",
    "juniper",
    "kettle",
    "lagoon",
    "meadow",
    "nectar",
    "orchard",
    "prairie",
    "quarry",
    "river",
    "summit",
    "timber",
    "upland",
    "valley",
    "willow",
    "yonder",
    "zephyr",
]
ROWS_PER_CATEGORY = 50
REMOVE_PREFIX = "rm"

_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def item_id(n: int) -> str:
    return f"i{n:08d}"


def remove_id(n: int) -> str:
    return f"{REMOVE_PREFIX}{n:08d}"


def category(n: int, rows: int) -> str:
    """Each category holds exactly ``ROWS_PER_CATEGORY`` items."""
    return f"c{n % max(1, rows // ROWS_PER_CATEGORY):06d}"


def wire_date(value: dt.datetime) -> dict:
    return {"$date": value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"}


def make_item(n: int, rows: int, rng: random.Random, *, item_key: str | None = None) -> dict:
    """Item ``n`` of ``rows`` (wire form). ``rank`` is a permutation-like unique number."""
    words = rng.sample(_WORDS, 3)
    if rng.random() < 0.05:
        words.insert(rng.randrange(4), NEEDLE)
    item = {
        "title": " ".join(words),
        "category": category(n, rows),
        "kind": KINDS[n % len(KINDS)],
        "price": round(rng.uniform(1, 1000), 2),
        "rank": (n * 7919) % rows if rows % 7919 else n,
        "active": rng.random() < 0.7,
        "releasedAt": wire_date(_EPOCH + dt.timedelta(milliseconds=rng.randrange(2**37))),
        "details": {"color": rng.choice(["red", "green", "blue"]), "size": rng.randrange(100)},
        "owner": f"o{n % OWNER_COUNT:04d}",
    }
    if item_key is not None:
        item["_id"] = item_key
    return item


COLLECTIONS = [
    {
        "id": OWNERS,
        "fields": [{"key": "name", "type": "TEXT"}, {"key": "city", "type": "TEXT"}],
    },
    {
        "id": ITEMS,
        "fields": [
            {"key": "title", "type": "TEXT"},
            {"key": "category", "type": "TEXT"},
            {"key": "kind", "type": "TEXT"},
            {"key": "price", "type": "NUMBER"},
            {"key": "rank", "type": "NUMBER"},
            {"key": "active", "type": "BOOLEAN"},
            {"key": "releasedAt", "type": "DATETIME"},
            {"key": "details", "type": "OBJECT"},
            {
                "key": "owner",
                "type": "REFERENCE",
                "singleReferenceOptions": {"referencedCollectionId": OWNERS},
            },
            {
                "key": "watchers",
                "type": "MULTI_REFERENCE",
                "multiReferenceOptions": {
                    "referencedCollectionId": OWNERS,
                    "referencedCollectionFieldKey": "watching",
                },
            },
        ],
    },
]

INDEXES = [
    ("by_category", ["category"]),
    ("by_rank", ["rank"]),
    ("by_price", ["price"]),
]


INSERTED = "ins"  # the category of items the insert workloads add


def inserted_item(n: int, rows: int, rng: random.Random) -> dict:
    """An item for the insert workloads: in a category and a rank range no read
    workload looks at, so a rerun with --no-seed reads what the first run read."""
    return {**make_item(n, rows, rng), "category": INSERTED, "rank": 2 * rows + n}


def analyze(app) -> None:
    """Refresh the planner's statistics, as autovacuum or a DBA would on a live
    database: a freshly filled table planned from empty statistics is not one
    anybody serves from."""
    import sqlalchemy as sa

    from connector import db

    engine = db.get_engine(app)
    with engine.begin() as conn:
        if engine.dialect.name in ("mysql", "mariadb"):
            for table in (ITEMS, OWNERS):
                conn.execute(
                    sa.text(f"ANALYZE TABLE {engine.dialect.identifier_preparer.quote(table)}")
                )
        else:
            conn.execute(sa.text("ANALYZE"))


class Seeder:
    """Calls the connector in-process (plain JSON with the API key)."""

    def __init__(self, app, api_key: str):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def call(self, path: str, body: dict) -> dict:
        response = self.client.post(path, json=body, headers=self.headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.get_data(True)}")
        return response.get_json()


def seed(app, api_key: str, *, rows: int, remove_pool: int, log=print) -> dict:
    """Drop and rebuild the benchmark collections with ``rows`` items, plus
    ``remove_pool`` extra items (ids ``rm...``) for the remove workload."""
    seeder = Seeder(app, api_key)
    listed = seeder.call("/v3/collections/get", {"collectionIds": [ITEMS, OWNERS]})
    present = {c["id"] for c in listed.get("collections", [])}
    for collection_id in (ITEMS, OWNERS):
        if collection_id in present:
            seeder.call("/v3/collections/delete", {"collectionId": collection_id})
    for collection in COLLECTIONS:
        seeder.call("/v3/collections/create", {"collection": collection})
    for name, paths in INDEXES:
        index = {"name": name, "fields": [{"path": p, "order": "ASC"} for p in paths]}
        seeder.call("/v3/indexes/create", {"collectionId": ITEMS, "index": index})

    started = time.perf_counter()
    owners = [
        {"_id": f"o{n:04d}", "name": f"Owner {n}", "city": f"City {n % 37}"}
        for n in range(OWNER_COUNT)
    ]
    seeder.call("/v3/items/insert", {"collectionId": OWNERS, "items": owners})
    rng = random.Random(20261122)
    batch = 1000
    for start in range(0, rows, batch):
        items = [
            make_item(n, rows, rng, item_key=item_id(n))
            for n in range(start, min(rows, start + batch))
        ]
        seeder.call("/v3/items/insert", {"collectionId": ITEMS, "items": items})
        references = [
            {
                "referringItemId": item["_id"],
                "referencedItemId": f"o{(k * 31 + i) % OWNER_COUNT:04d}",
            }
            for i, item in enumerate(items)
            for k in (1, 2)
        ]
        for at in range(0, len(references), batch):
            seeder.call(
                "/v3/items/insert-references",
                {
                    "collectionId": ITEMS,
                    "referringFieldKey": "watchers",
                    "references": references[at : at + batch],
                },
            )
        if start and start % 100_000 == 0:
            log(f"  seeded {start:,} rows")
    for start in range(0, remove_pool, batch):
        items = [
            # Ranked after every other item and in no category, so removing them
            # never changes what the read workloads see.
            {**make_item(n, rows, rng, item_key=remove_id(n)), "rank": rows + n, "category": "rm"}
            for n in range(start, min(remove_pool, start + batch))
        ]
        seeder.call("/v3/items/insert", {"collectionId": ITEMS, "items": items})
    analyze(app)
    seconds = time.perf_counter() - started
    total = rows + remove_pool
    log(f"  seeded {total:,} items and {2 * rows:,} references in {seconds:.1f} s")
    return {"items": total, "references": 2 * rows, "seconds": round(seconds, 1)}
