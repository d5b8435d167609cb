"""MULTI_REFERENCE fields: join tables made by collections/create and update, both
directions of a field, the query-referenced / insert-references / remove-references
endpoints, $hasSome / $hasAll, includeReferencedItems, and the cascades of item and
collection removal."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

POIS = [
    {"_id": "p1", "name": "Tower"},
    {"_id": "p2", "name": "Bridge"},
    {"_id": "p3", "name": "Museum"},
    {"_id": "p4", "name": "Park"},
]
CITIES = [
    {"_id": "c1", "name": "Paris"},
    {"_id": "c2", "name": "London"},
    {"_id": "c3", "name": "Rome"},
]
STANDARD_OPERATIONS = [
    "QUERY",
    "COUNT",
    "AGGREGATE",
    "DISTINCT",
    "INSERT",
    "UPDATE",
    "REMOVE",
    "TRUNCATE",
]
REFERENCE_OPERATIONS = [
    *STANDARD_OPERATIONS,
    "QUERY_REFERENCED",
    "INSERT_REFERENCES",
    "REMOVE_REFERENCES",
]
SYSTEM_TAIL = ["_createdDate", "_updatedDate", "_owner"]
MULTI_CAPABILITIES = {"sortable": False, "queryOperators": ["HAS_SOME", "HAS_ALL"]}
POINTS_OF_INTEREST_FIELD = {
    "key": "pointsOfInterest",
    "displayName": "Points of interest",
    "type": "MULTI_REFERENCE",
    "multiReferenceOptions": {
        "referencedCollectionId": "pointsOfInterest",
        "referencedCollectionFieldKey": "cities",
        "referencedCollectionFieldDisplayName": "Cities",
    },
}
DESCRIBED_POINTS_OF_INTEREST = {
    "key": "pointsOfInterest",
    "displayName": "Points of interest",
    "type": "MULTI_REFERENCE",
    "multiReferenceOptions": {
        "referencedCollectionId": "pointsOfInterest",
        "referencedCollectionFieldKey": "cities",
    },
    "encrypted": False,
    "capabilities": MULTI_CAPABILITIES,
}
DESCRIBED_CITIES = {
    "key": "cities",
    "displayName": "Cities",
    "type": "MULTI_REFERENCE",
    "multiReferenceOptions": {
        "referencedCollectionId": "cities",
        "referencedCollectionFieldKey": "pointsOfInterest",
    },
    "encrypted": False,
    "capabilities": MULTI_CAPABILITIES,
}


# --- helpers ------------------------------------------------------------------------


def create(wix, collection_id, fields):
    status, body = wix.post(
        "/v3/collections/create", {"collection": {"id": collection_id, "fields": fields}}
    )
    assert status == 200, body
    return body["collection"]


def update(wix, collection):
    status, body = wix.post("/v3/collections/update", {"collection": collection})
    assert status == 200, body
    return body["collection"]


def get(wix, collection_id):
    status, body = wix.post("/v3/collections/get", {"collectionIds": [collection_id]})
    assert status == 200, body
    assert len(body["collections"]) == 1, body
    return body["collections"][0]


def insert(wix, collection_id, items):
    status, body = wix.post("/v3/items/insert", {"collectionId": collection_id, "items": items})
    assert status == 200, body
    assert all("item" in result for result in body["results"]), body
    return [result["item"] for result in body["results"]]


def change(wix, action, pairs, collection="cities", field="pointsOfInterest"):
    """POST /v3/items/<action>-references; the results (asserts 200)."""
    status, body = wix.post(
        f"/v3/items/{action}-references",
        {
            "collectionId": collection,
            "referringFieldKey": field,
            "references": [{"referringItemId": a, "referencedItemId": b} for a, b in pairs],
        },
    )
    assert status == 200, body
    return body["results"]


def link(wix, pairs, collection="cities", field="pointsOfInterest"):
    """Insert references that must all succeed."""
    results = change(wix, "insert", pairs, collection, field)
    assert results == [
        {"reference": {"referringItemId": a, "referencedItemId": b}} for a, b in pairs
    ]


def referenced(wix, collection="cities", field="pointsOfInterest", **request):
    """POST /v3/items/query-referenced; the body (asserts 200)."""
    status, body = wix.post(
        "/v3/items/query-referenced",
        {"collectionId": collection, "referringFieldKey": field, **request},
    )
    assert status == 200, body
    return body


def pairs(wix, collection="cities", field="pointsOfInterest", **request):
    """The (referring, referenced) id pairs query-referenced lists."""
    body = referenced(
        wix, collection, field, includeReferencedItems=False, paging={"limit": 1000}, **request
    )
    assert all(set(i) == {"referringItemId", "referencedItemId"} for i in body["items"]), body
    return [(i["referringItemId"], i["referencedItemId"]) for i in body["items"]]


def later():
    """Let the clock pass a few milliseconds (reference times have ms resolution)."""
    start = time.monotonic()
    while time.monotonic() - start < 0.003:
        pass


def error(code, **data):
    return {"errorCode": code, "data": data}


def errors_of(results):
    """Results with each error reduced to its code and data (messages vary)."""
    reduced = []
    for result in results:
        if "error" in result:
            assert set(result["error"]) == {"errorCode", "errorMessage", "data"}, result
            assert isinstance(result["error"]["errorMessage"], str), result
            result = {"error": error(result["error"]["errorCode"], **result["error"]["data"])}
        reduced.append(result)
    return reduced


def assert_violation(status, body, field_path, rejected=...):
    assert status == 400, body
    assert body["errorCode"] == "VALIDATION_ERROR", body
    violations = body["data"]["violations"]
    assert [v["fieldPath"] for v in violations] == [field_path], body
    if rejected is not ...:
        assert violations[0]["rejectedValue"] == rejected, body


def join_tables(engine):
    return sorted(n for n in sa.inspect(engine).get_table_names() if n.startswith("_connector_mr_"))


def multi_fields(collection):
    return [f for f in collection["fields"] if f["type"] == "MULTI_REFERENCE"]


@pytest.fixture
def cities(wix):
    """pointsOfInterest, and cities with the MULTI_REFERENCE field pointsOfInterest
    (seen from pointsOfInterest as ``cities``); items but no references yet."""
    create(wix, "pointsOfInterest", [{"key": "name", "type": "TEXT"}])
    collection = create(wix, "cities", [{"key": "name", "type": "TEXT"}, POINTS_OF_INTEREST_FIELD])
    insert(wix, "pointsOfInterest", POIS)
    insert(wix, "cities", CITIES)
    return collection


def by_id(wix, collection_id):
    return {item["_id"]: item for item in wix.items(collection_id, {"paging": {"limit": 1000}})}


# --- the field, on both collections -------------------------------------------------


def test_both_collections_describe_the_field(cities, wix, engine):
    assert multi_fields(cities) == [DESCRIBED_POINTS_OF_INTEREST]
    city = get(wix, "cities")
    assert city == cities
    assert [f["key"] for f in city["fields"]] == ["_id", "name", *SYSTEM_TAIL, "pointsOfInterest"]
    assert city["capabilities"]["dataOperations"] == REFERENCE_OPERATIONS

    poi = get(wix, "pointsOfInterest")
    assert [f["key"] for f in poi["fields"]] == ["_id", "name", *SYSTEM_TAIL, "cities"]
    assert multi_fields(poi) == [DESCRIBED_CITIES]
    assert poi["capabilities"]["dataOperations"] == REFERENCE_OPERATIONS

    plain = create(wix, "plain", [{"key": "name", "type": "TEXT"}])
    assert plain["capabilities"]["dataOperations"] == STANDARD_OPERATIONS
    assert get(wix, "plain")["capabilities"]["dataOperations"] == STANDARD_OPERATIONS
    assert len(join_tables(engine)) == 1


def test_an_unknown_referenced_collection_is_a_validation_error(wix):
    create(wix, "pointsOfInterest", [{"key": "name", "type": "TEXT"}])
    field = {
        **POINTS_OF_INTEREST_FIELD,
        "multiReferenceOptions": {"referencedCollectionId": "nope"},
    }
    status, body = wix.post(
        "/v3/collections/create",
        {"collection": {"id": "cities", "fields": [{"key": "name", "type": "TEXT"}, field]}},
    )
    assert_violation(
        status, body, "collection.fields[1].multiReferenceOptions.referencedCollectionId", "nope"
    )
    status, body = wix.post("/v3/collections/get", {})
    assert [c["id"] for c in body["collections"]] == ["pointsOfInterest"]


def test_items_do_not_carry_the_multi_reference(cities, wix):
    link(wix, [("c1", "p1"), ("c1", "p2")])
    assert [set(item) for item in wix.items("cities")] == [
        {"_id", "name", *SYSTEM_TAIL} for _ in CITIES
    ]
    assert [set(item) for item in wix.items("pointsOfInterest")] == [
        {"_id", "name", *SYSTEM_TAIL} for _ in POIS
    ]
    assert wix.items("cities", {"fields": ["name"], "filter": {"_id": "c1"}}) == [
        {"_id": "c1", "name": "Paris"}
    ]


# --- insert-references / remove-references --------------------------------------------


def test_inserted_references_are_listed_with_their_items(cities, wix):
    link(wix, [("c2", "p1"), ("c1", "p2"), ("c1", "p1")])
    pois = by_id(wix, "pointsOfInterest")
    body = referenced(wix)
    # One request: one reference time; ties go by referring id, then referenced id.
    assert body == {
        "items": [
            {"referringItemId": "c1", "referencedItemId": "p1", "referencedItem": pois["p1"]},
            {"referringItemId": "c1", "referencedItemId": "p2", "referencedItem": pois["p2"]},
            {"referringItemId": "c2", "referencedItemId": "p1", "referencedItem": pois["p1"]},
        ],
        "pagingMetadata": {"count": 3, "offset": 0},
    }
    assert set(pois["p1"]) == {"_id", "name", *SYSTEM_TAIL}


def test_insert_errors_are_per_reference(cities, wix):
    link(wix, [("c1", "p1")])
    results = change(
        wix,
        "insert",
        [
            ("c1", "p1"),  # already there
            ("c2", "p2"),
            ("c2", "p2"),  # twice in one request: the second
            ("cX", "p1"),  # no such city
            ("c1", "pX"),  # no such point of interest
            ("c3", "p3"),
        ],
    )
    assert errors_of(results) == [
        {"error": error("REFERENCE_ALREADY_EXISTS", referringItemId="c1", referencedItemId="p1")},
        {"reference": {"referringItemId": "c2", "referencedItemId": "p2"}},
        {"error": error("REFERENCE_ALREADY_EXISTS", referringItemId="c2", referencedItemId="p2")},
        {"error": error("ITEM_NOT_FOUND", itemId="cX")},
        {"error": error("ITEM_NOT_FOUND", itemId="pX")},
        {"reference": {"referringItemId": "c3", "referencedItemId": "p3"}},
    ]
    assert pairs(wix) == [("c1", "p1"), ("c2", "p2"), ("c3", "p3")]


def test_references_made_through_the_reverse_field_are_seen_from_both_sides(cities, wix):
    link(wix, [("c1", "p1")])
    link(wix, [("p1", "c2"), ("p3", "c2")], collection="pointsOfInterest", field="cities")
    assert pairs(wix) == [("c1", "p1"), ("c2", "p1"), ("c2", "p3")]
    assert pairs(wix, "pointsOfInterest", "cities") == [("p1", "c1"), ("p1", "c2"), ("p3", "c2")]
    assert pairs(wix, referencedItemIds=["p1"]) == [("c1", "p1"), ("c2", "p1")]
    assert pairs(wix, "pointsOfInterest", "cities", referencedItemIds=["c2"]) == [
        ("p1", "c2"),
        ("p3", "c2"),
    ]
    # The same pair from the other side is the same reference.
    results = change(wix, "insert", [("p1", "c1")], collection="pointsOfInterest", field="cities")
    assert errors_of(results) == [
        {"error": error("REFERENCE_ALREADY_EXISTS", referringItemId="p1", referencedItemId="c1")}
    ]
    cities_of = by_id(wix, "cities")
    body = referenced(wix, "pointsOfInterest", "cities", referringItemIds=["p3"])
    assert body["items"] == [
        {"referringItemId": "p3", "referencedItemId": "c2", "referencedItem": cities_of["c2"]}
    ]


def test_remove_references(cities, wix):
    link(wix, [("c1", "p1"), ("c1", "p2"), ("c2", "p1"), ("c3", "p4")])
    results = change(
        wix,
        "remove",
        [
            ("c1", "p1"),
            ("c1", "p1"),  # already removed by the first
            ("c2", "p3"),  # never made
            ("cX", "p1"),  # no such city
        ],
    )
    assert errors_of(results) == [
        {"reference": {"referringItemId": "c1", "referencedItemId": "p1"}},
        {"error": error("REFERENCE_NOT_FOUND", referringItemId="c1", referencedItemId="p1")},
        {"error": error("REFERENCE_NOT_FOUND", referringItemId="c2", referencedItemId="p3")},
        {"error": error("REFERENCE_NOT_FOUND", referringItemId="cX", referencedItemId="p1")},
    ]
    assert pairs(wix) == [("c1", "p2"), ("c2", "p1"), ("c3", "p4")]
    # Through the reverse field.
    results = change(
        wix, "remove", [("p4", "c3"), ("p2", "c2")], collection="pointsOfInterest", field="cities"
    )
    assert errors_of(results) == [
        {"reference": {"referringItemId": "p4", "referencedItemId": "c3"}},
        {"error": error("REFERENCE_NOT_FOUND", referringItemId="p2", referencedItemId="c2")},
    ]
    assert pairs(wix) == [("c1", "p2"), ("c2", "p1")]
    # The items themselves stay.
    assert sorted(by_id(wix, "cities")) == ["c1", "c2", "c3"]
    assert sorted(by_id(wix, "pointsOfInterest")) == ["p1", "p2", "p3", "p4"]


def test_a_field_that_is_not_a_multi_reference_is_rejected(cities, wix):
    reference = [{"referringItemId": "c1", "referencedItemId": "p1"}]
    for path, extra in [
        ("/v3/items/query-referenced", {}),
        ("/v3/items/insert-references", {"references": reference}),
        ("/v3/items/remove-references", {"references": reference}),
    ]:
        for key in ("name", "_id", "nope"):
            status, body = wix.post(
                path, {"collectionId": "cities", "referringFieldKey": key, **extra}
            )
            assert_violation(status, body, "referringFieldKey", key)
        status, body = wix.post(
            path, {"collectionId": "towns", "referringFieldKey": "pointsOfInterest", **extra}
        )
        assert (status, body["errorCode"], body["data"]) == (
            404,
            "COLLECTION_NOT_FOUND",
            {"collectionId": "towns"},
        ), (path, body)
    assert pairs(wix) == []


# --- query-referenced -------------------------------------------------------------------


@pytest.fixture
def timed(cities, wix):
    """Five references made at three times; the expected ascending order."""
    link(wix, [("c2", "p1")])
    later()
    link(wix, [("c1", "p2")])
    later()
    link(wix, [("c3", "p1"), ("c1", "p3"), ("c1", "p1")])  # one time: ties
    return [("c2", "p1"), ("c1", "p2"), ("c1", "p1"), ("c1", "p3"), ("c3", "p1")]


def test_order_is_the_time_the_reference_was_made(timed, wix):
    assert pairs(wix) == timed
    assert pairs(wix, order="ASC") == timed
    assert pairs(wix, order="DESC") == timed[::-1]  # ties in the same direction
    assert pairs(wix, "pointsOfInterest", "cities", order="ASC") == [
        ("p1", "c2"),
        ("p2", "c1"),
        ("p1", "c1"),
        ("p1", "c3"),
        ("p3", "c1"),
    ]


def test_query_referenced_restricts_either_side(timed, wix):
    assert pairs(wix, referringItemIds=["c1"]) == [("c1", "p2"), ("c1", "p1"), ("c1", "p3")]
    assert pairs(wix, referringItemIds=["c3", "c2"]) == [("c2", "p1"), ("c3", "p1")]
    assert pairs(wix, referencedItemIds=["p1"]) == [("c2", "p1"), ("c1", "p1"), ("c3", "p1")]
    assert pairs(wix, referringItemIds=["c1"], referencedItemIds=["p1", "p3"], order="DESC") == [
        ("c1", "p3"),
        ("c1", "p1"),
    ]
    assert pairs(wix, referringItemIds=[], referencedItemIds=[]) == timed
    assert pairs(wix, referringItemIds=["nobody"]) == []
    assert pairs(wix, referringItemIds=["c2"], referencedItemIds=["p2"]) == []


def test_referenced_items_can_be_left_out_or_projected(cities, wix):
    link(wix, [("c1", "p1"), ("c1", "p2")])
    pois = by_id(wix, "pointsOfInterest")
    request = {
        "referringItemIds": ["c1"],
        "referencedItemIds": [],
        "order": "ASC",
        "consistentRead": False,
        "returnTotalCount": False,
    }
    body = referenced(wix, **request, includeReferencedItems=False)
    assert body["items"] == [
        {"referringItemId": "c1", "referencedItemId": "p1"},
        {"referringItemId": "c1", "referencedItemId": "p2"},
    ]
    body = referenced(wix, **request, includeReferencedItems=True, fieldsToReturn=["name"])
    assert body["items"] == [
        {
            "referringItemId": "c1",
            "referencedItemId": "p1",
            "referencedItem": {"_id": "p1", "name": "Tower"},
        },
        {
            "referringItemId": "c1",
            "referencedItemId": "p2",
            "referencedItem": {"_id": "p2", "name": "Bridge"},
        },
    ]
    for full in (
        referenced(wix, **request, includeReferencedItems=True, fieldsToReturn=[]),
        referenced(wix, **request),  # includeReferencedItems defaults to true
    ):
        assert [i["referencedItem"] for i in full["items"]] == [pois["p1"], pois["p2"]]


def test_offset_paging_of_references(timed, wix):
    def page(offset, **extra):
        return referenced(
            wix, includeReferencedItems=False, paging={"limit": 2, "offset": offset}, **extra
        )

    first = page(0, returnTotalCount=True)
    assert [(i["referringItemId"], i["referencedItemId"]) for i in first["items"]] == timed[:2]
    assert first["pagingMetadata"] == {"count": 2, "offset": 0, "total": 5}
    second = page(2)
    assert [(i["referringItemId"], i["referencedItemId"]) for i in second["items"]] == timed[2:4]
    assert second["pagingMetadata"] == {"count": 2, "offset": 2}
    last = page(4, returnTotalCount=True, order="DESC")
    assert [(i["referringItemId"], i["referencedItemId"]) for i in last["items"]] == [timed[0]]
    assert last["pagingMetadata"] == {"count": 1, "offset": 4, "total": 5}
    restricted = page(0, returnTotalCount=True, referencedItemIds=["p1"])
    assert restricted["pagingMetadata"] == {"count": 2, "offset": 0, "total": 3}


def test_cursor_paging_of_references(timed, wix):
    def ids(body):
        return [(i["referringItemId"], i["referencedItemId"]) for i in body["items"]]

    def follow(cursor):
        return referenced(wix, cursorPaging={"limit": 2, "cursor": cursor})

    first = referenced(
        wix, order="DESC", returnTotalCount=True, fieldsToReturn=["name"], cursorPaging={"limit": 2}
    )
    newest_first = timed[::-1]
    assert ids(first) == newest_first[:2]
    assert first["items"][0]["referencedItem"] == {"_id": "p1", "name": "Tower"}
    assert first["pagingMetadata"]["count"] == 2
    assert first["pagingMetadata"]["total"] == 5
    assert set(first["pagingMetadata"]["cursors"]) == {"next"}

    # Follow-ups carry only the cursor: order, projection and includes come with it.
    second = follow(first["pagingMetadata"]["cursors"]["next"])
    assert ids(second) == newest_first[2:4]
    assert second["items"][0]["referencedItem"] == {"_id": "p1", "name": "Tower"}
    assert second["pagingMetadata"]["count"] == 2
    assert set(second["pagingMetadata"]["cursors"]) == {"next", "prev"}
    third = follow(second["pagingMetadata"]["cursors"]["next"])
    assert ids(third) == newest_first[4:]
    assert third["pagingMetadata"]["count"] == 1
    assert set(third["pagingMetadata"]["cursors"]) == {"prev"}

    back = follow(third["pagingMetadata"]["cursors"]["prev"])
    assert ids(back) == newest_first[2:4]
    assert set(back["pagingMetadata"]["cursors"]) == {"next", "prev"}
    back = follow(back["pagingMetadata"]["cursors"]["prev"])
    assert ids(back) == newest_first[:2]
    assert set(back["pagingMetadata"]["cursors"]) == {"next"}

    # A restriction travels in the cursor too.
    only_c1 = referenced(
        wix, referringItemIds=["c1"], includeReferencedItems=False, cursorPaging={"limit": 2}
    )
    assert ids(only_c1) == [("c1", "p2"), ("c1", "p1")]
    rest = follow(only_c1["pagingMetadata"]["cursors"]["next"])
    assert ids(rest) == [("c1", "p3")]
    assert [set(i) for i in rest["items"]] == [{"referringItemId", "referencedItemId"}]
    assert rest["pagingMetadata"]["cursors"].keys() == {"prev"}


# --- $hasSome / $hasAll -----------------------------------------------------------------


def test_has_some_and_has_all_select_by_referenced_ids(cities, wix):
    link(wix, [("c1", "p1"), ("c1", "p2"), ("c2", "p2"), ("c2", "p3")])
    assert wix.ids("cities", {"pointsOfInterest": {"$hasSome": ["p1"]}}) == ["c1"]
    assert wix.ids("cities", {"pointsOfInterest": {"$hasSome": ["p2"]}}) == ["c1", "c2"]
    assert wix.ids("cities", {"pointsOfInterest": {"$hasSome": ["p1", "p3"]}}) == ["c1", "c2"]
    assert wix.ids("cities", {"pointsOfInterest": {"$hasSome": ["p4", "nope"]}}) == []
    assert wix.ids("cities", {"pointsOfInterest": {"$hasAll": ["p1", "p2"]}}) == ["c1"]
    assert wix.ids("cities", {"pointsOfInterest": {"$hasAll": ["p2"]}}) == ["c1", "c2"]
    assert wix.ids("cities", {"pointsOfInterest": {"$hasAll": ["p1", "p3"]}}) == []
    assert wix.ids(
        "cities", {"name": "London", "pointsOfInterest": {"$hasSome": ["p1", "p2"]}}
    ) == ["c2"]
    assert wix.ids("cities", {"$not": {"pointsOfInterest": {"$hasSome": ["p1"]}}}) == ["c2", "c3"]
    # The reverse field filters the other way.
    assert wix.ids("pointsOfInterest", {"cities": {"$hasSome": ["c2"]}}) == ["p2", "p3"]
    assert wix.ids("pointsOfInterest", {"cities": {"$hasAll": ["c1", "c2"]}}) == ["p2"]
    status, body = wix.post(
        "/v3/items/count",
        {"collectionId": "cities", "filter": {"pointsOfInterest": {"$hasSome": ["p2"]}}},
    )
    assert (status, body) == (200, {"totalCount": 2})


def test_other_operators_on_a_multi_reference_are_rejected(cities, wix):
    for condition in (
        {"$eq": ["p1"]},
        "p1",
        {"$contains": "p1"},
        {"$in": ["p1"]},
        {"$exists": True},
    ):
        status, body = wix.query("cities", {"filter": {"pointsOfInterest": condition}})
        assert_violation(status, body, "pointsOfInterest")
    status, body = wix.query("pointsOfInterest", {"filter": {"cities": {"$ne": "c1"}}})
    assert_violation(status, body, "cities")


# --- includeReferencedItems -------------------------------------------------------------


def test_include_gives_the_referenced_items_in_reference_order(cities, wix):
    link(wix, [("c1", "p3")])
    later()
    link(wix, [("c1", "p1"), ("c2", "p4")])
    later()
    link(wix, [("c1", "p2"), ("c2", "p1")])
    pois = by_id(wix, "pointsOfInterest")
    cities_of = by_id(wix, "cities")

    items = wix.items("cities", {}, includeReferencedItems=[{"fieldKey": "pointsOfInterest"}])
    assert items == [
        {**cities_of["c1"], "pointsOfInterest": [pois["p3"], pois["p1"], pois["p2"]]},
        {**cities_of["c2"], "pointsOfInterest": [pois["p4"], pois["p1"]]},
        {**cities_of["c3"], "pointsOfInterest": []},
    ]
    limited = wix.items(
        "cities",
        {"fields": ["name"]},
        includeReferencedItems=[{"fieldKey": "pointsOfInterest", "limit": 2}],
    )
    assert [(i["_id"], [p["_id"] for p in i["pointsOfInterest"]]) for i in limited] == [
        ("c1", ["p3", "p1"]),
        ("c2", ["p4", "p1"]),
        ("c3", []),
    ]
    reverse = wix.items(
        "pointsOfInterest",
        {"filter": {"_id": {"$in": ["p1", "p2"]}}},
        includeReferencedItems=[{"fieldKey": "cities"}],
    )
    assert reverse == [
        {**pois["p1"], "cities": [cities_of["c1"], cities_of["c2"]]},
        {**pois["p2"], "cities": [cities_of["c1"]]},
    ]


def test_include_returns_at_most_50_by_default(cities, wix):
    many = [{"_id": f"q{n:02d}", "name": f"spot {n}"} for n in range(55)]
    insert(wix, "pointsOfInterest", many)
    link(wix, [("c2", item["_id"]) for item in reversed(many)])  # one time: by referenced id
    items = wix.items(
        "cities",
        {"filter": {"_id": "c2"}},
        includeReferencedItems=[{"fieldKey": "pointsOfInterest"}],
    )
    assert [p["_id"] for p in items[0]["pointsOfInterest"]] == [f"q{n:02d}" for n in range(50)]


def test_including_multi_references_costs_one_query_for_the_page(cities, wix, app):
    insert(wix, "cities", [{"_id": f"x{n:02d}", "name": f"town {n}"} for n in range(47)])
    link(
        wix,
        [(f"x{n:02d}", POIS[n % 4]["_id"]) for n in range(47)]
        + [(f"x{n:02d}", "p4") for n in range(0, 47, 3) if n % 4 != 3]
        + [("c1", "p1")],
    )
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "_connector_settings" not in statement:  # not the per-request schema version
            statements.append(statement.split()[0].upper())

    engine = app.extensions["connector.engine"]
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        items = wix.items(
            "cities",
            {"paging": {"limit": 50}},
            includeReferencedItems=[{"fieldKey": "pointsOfInterest"}],
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(items) == 50
    referred = {i["_id"]: [p["_id"] for p in i["pointsOfInterest"]] for i in items}
    assert referred["c1"] == ["p1"]
    assert referred["c2"] == referred["c3"] == []
    assert referred["x00"] == ["p1", "p4"]
    assert referred["x03"] == ["p4"]
    assert referred["x05"] == ["p2"]
    assert referred["x06"] == ["p3", "p4"]
    assert statements.count("SELECT") == 2  # the page, and the references of the page


# --- cascades ----------------------------------------------------------------------------


def test_removing_items_removes_their_references(cities, wix):
    link(wix, [("c1", "p1"), ("c1", "p2"), ("c2", "p1"), ("c3", "p3")])
    status, body = wix.post("/v3/items/remove", {"collectionId": "cities", "itemIds": ["c1"]})
    assert status == 200, body
    assert pairs(wix) == [("c2", "p1"), ("c3", "p3")]
    status, body = wix.post(
        "/v3/items/remove", {"collectionId": "pointsOfInterest", "itemIds": ["p1"]}
    )
    assert status == 200, body
    assert pairs(wix) == [("c3", "p3")]
    assert pairs(wix, "pointsOfInterest", "cities") == [("p3", "c3")]
    # An item made again under a removed id starts without references.
    insert(wix, "cities", [{"_id": "c1", "name": "Paris"}])
    assert pairs(wix, referringItemIds=["c1"]) == []
    assert wix.ids("cities", {"pointsOfInterest": {"$hasSome": ["p2"]}}) == []


def test_truncating_either_side_removes_the_references(cities, wix):
    link(wix, [("c1", "p1"), ("c2", "p2")])
    assert wix.post("/v3/items/truncate", {"collectionId": "pointsOfInterest"}) == (200, {})
    assert pairs(wix) == []
    assert sorted(by_id(wix, "cities")) == ["c1", "c2", "c3"]
    insert(wix, "pointsOfInterest", POIS)
    link(wix, [("c1", "p1"), ("c2", "p2")])
    assert wix.post("/v3/items/truncate", {"collectionId": "cities"}) == (200, {})
    assert pairs(wix, "pointsOfInterest", "cities") == []
    assert sorted(by_id(wix, "pointsOfInterest")) == ["p1", "p2", "p3", "p4"]


def test_deleting_the_referring_collection_drops_the_join_table_and_reverse_field(
    cities, wix, engine
):
    link(wix, [("c1", "p1")])
    assert len(join_tables(engine)) == 1
    assert wix.post("/v3/collections/delete", {"collectionId": "cities"}) == (200, {})
    assert join_tables(engine) == []
    poi = get(wix, "pointsOfInterest")
    assert [f["key"] for f in poi["fields"]] == ["_id", "name", *SYSTEM_TAIL]
    assert poi["capabilities"]["dataOperations"] == STANDARD_OPERATIONS
    assert sorted(by_id(wix, "pointsOfInterest")) == ["p1", "p2", "p3", "p4"]
    status, body = wix.post(
        "/v3/items/query-referenced",
        {"collectionId": "pointsOfInterest", "referringFieldKey": "cities"},
    )
    assert_violation(status, body, "referringFieldKey", "cities")
    # Nothing left over: the same field can be made again, empty.
    create(wix, "cities", [{"key": "name", "type": "TEXT"}, POINTS_OF_INTEREST_FIELD])
    insert(wix, "cities", CITIES)
    assert pairs(wix) == []
    assert multi_fields(get(wix, "pointsOfInterest")) == [DESCRIBED_CITIES]
    link(wix, [("c1", "p1")])


def test_deleting_the_referenced_collection_drops_the_field(cities, wix, engine):
    link(wix, [("c1", "p1")])
    assert wix.post("/v3/collections/delete", {"collectionId": "pointsOfInterest"}) == (200, {})
    assert join_tables(engine) == []
    city = get(wix, "cities")
    assert [f["key"] for f in city["fields"]] == ["_id", "name", *SYSTEM_TAIL]
    assert city["capabilities"]["dataOperations"] == STANDARD_OPERATIONS
    assert sorted(by_id(wix, "cities")) == ["c1", "c2", "c3"]
    status, body = wix.query("cities", {"filter": {"pointsOfInterest": {"$hasSome": ["p1"]}}})
    assert_violation(status, body, "pointsOfInterest")
    status, body = wix.query(
        "cities", {}, includeReferencedItems=[{"fieldKey": "pointsOfInterest"}]
    )
    assert_violation(status, body, "includeReferencedItems[0].fieldKey", "pointsOfInterest")
    status, body = wix.post(
        "/v3/items/insert-references",
        {
            "collectionId": "cities",
            "referringFieldKey": "pointsOfInterest",
            "references": [{"referringItemId": "c1", "referencedItemId": "p1"}],
        },
    )
    assert_violation(status, body, "referringFieldKey", "pointsOfInterest")


# --- collections/update ------------------------------------------------------------------


def test_update_adds_and_drops_a_multi_reference_field(wix, engine):
    create(wix, "pointsOfInterest", [{"key": "name", "type": "TEXT"}])
    create(wix, "cities", [{"key": "name", "type": "TEXT"}])
    insert(wix, "pointsOfInterest", POIS)
    insert(wix, "cities", CITIES)
    before = by_id(wix, "cities")
    assert join_tables(engine) == []

    added = update(
        wix,
        {"id": "cities", "fields": [{"key": "name", "type": "TEXT"}, POINTS_OF_INTEREST_FIELD]},
    )
    assert added == get(wix, "cities")
    assert multi_fields(added) == [DESCRIBED_POINTS_OF_INTEREST]
    assert added["capabilities"]["dataOperations"] == REFERENCE_OPERATIONS
    poi = get(wix, "pointsOfInterest")
    assert multi_fields(poi) == [DESCRIBED_CITIES]
    assert poi["capabilities"]["dataOperations"] == REFERENCE_OPERATIONS
    assert len(join_tables(engine)) == 1
    assert by_id(wix, "cities") == before
    link(wix, [("c1", "p1"), ("c2", "p1")])
    assert wix.ids("cities", {"pointsOfInterest": {"$hasSome": ["p1"]}}) == ["c1", "c2"]

    dropped = update(wix, {"id": "cities", "fields": [{"key": "name", "type": "TEXT"}]})
    assert dropped == get(wix, "cities")
    assert [f["key"] for f in dropped["fields"]] == ["_id", "name", *SYSTEM_TAIL]
    assert dropped["capabilities"]["dataOperations"] == STANDARD_OPERATIONS
    poi = get(wix, "pointsOfInterest")
    assert [f["key"] for f in poi["fields"]] == ["_id", "name", *SYSTEM_TAIL]
    assert poi["capabilities"]["dataOperations"] == STANDARD_OPERATIONS
    assert join_tables(engine) == []
    assert by_id(wix, "cities") == before


def test_updating_with_the_collections_as_described_keeps_the_references(cities, wix, engine):
    link(wix, [("c1", "p1"), ("c2", "p2")])
    for collection_id in ("cities", "pointsOfInterest"):
        described = get(wix, collection_id)
        updated = update(wix, {**described, "displayName": f"The {collection_id}"})
        assert updated == {**described, "displayName": f"The {collection_id}"}
    assert multi_fields(get(wix, "cities")) == [DESCRIBED_POINTS_OF_INTEREST]
    assert multi_fields(get(wix, "pointsOfInterest")) == [DESCRIBED_CITIES]
    assert len(join_tables(engine)) == 1
    assert pairs(wix) == [("c1", "p1"), ("c2", "p2")]


# --- a collection referring to itself ----------------------------------------------------


def test_a_collection_may_refer_to_itself_many_times(wix, engine):
    people = create(
        wix,
        "people",
        [
            {"key": "name", "type": "TEXT"},
            {
                "key": "friends",
                "type": "MULTI_REFERENCE",
                "multiReferenceOptions": {"referencedCollectionId": "people"},
            },
        ],
    )
    assert multi_fields(people) == [
        {
            "key": "friends",
            "displayName": "friends",
            "type": "MULTI_REFERENCE",
            "multiReferenceOptions": {"referencedCollectionId": "people"},
            "encrypted": False,
            "capabilities": MULTI_CAPABILITIES,
        }
    ]
    assert people["capabilities"]["dataOperations"] == REFERENCE_OPERATIONS
    insert(wix, "people", [{"_id": "ann"}, {"_id": "bob"}, {"_id": "cy"}])
    link(wix, [("ann", "bob"), ("bob", "ann"), ("ann", "ann")], "people", "friends")
    results = change(wix, "insert", [("ann", "bob"), ("cy", "dan")], "people", "friends")
    assert errors_of(results) == [
        {"error": error("REFERENCE_ALREADY_EXISTS", referringItemId="ann", referencedItemId="bob")},
        {"error": error("ITEM_NOT_FOUND", itemId="dan")},
    ]
    assert pairs(wix, "people", "friends") == [("ann", "ann"), ("ann", "bob"), ("bob", "ann")]
    assert pairs(wix, "people", "friends", referencedItemIds=["ann"]) == [
        ("ann", "ann"),
        ("bob", "ann"),
    ]
    body = referenced(wix, "people", "friends", referringItemIds=["bob"], fieldsToReturn=["name"])
    assert body["items"] == [
        {
            "referringItemId": "bob",
            "referencedItemId": "ann",
            "referencedItem": {"_id": "ann", "name": None},
        }
    ]
    assert wix.ids("people", {"friends": {"$hasSome": ["ann"]}}) == ["ann", "bob"]
    status, body = wix.post("/v3/items/remove", {"collectionId": "people", "itemIds": ["ann"]})
    assert status == 200, body
    assert pairs(wix, "people", "friends") == []
    assert wix.post("/v3/collections/delete", {"collectionId": "people"}) == (200, {})
    assert join_tables(engine) == []
