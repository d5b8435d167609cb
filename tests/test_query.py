"""POST /v3/items/query: order, sorting, projection, offset paging and cursor paging.

Every test runs on SQLite, PostgreSQL and MariaDB (the ``wix`` fixture signs
requests as Wix does).
"""

from __future__ import annotations

import sqlalchemy as sa
from conftest import TEXT_ID, create_table

# --- helpers -----------------------------------------------------------------


def assert_validation_error(status, body, field_path, rejected_value):
    """A 400 VALIDATION_ERROR with exactly one violation for ``field_path``."""
    assert status == 400, body
    assert body["errorCode"] == "VALIDATION_ERROR", body
    assert isinstance(body["errorMessage"], str) and body["errorMessage"]
    assert list(body["data"]) == ["violations"], body
    violations = body["data"]["violations"]
    assert [(v["fieldPath"], v["rejectedValue"]) for v in violations] == [
        (field_path, rejected_value)
    ], body
    assert isinstance(violations[0]["message"], str) and violations[0]["message"]


def assert_bad_request(status, body):
    assert status == 400, body
    assert body["errorCode"] == "BAD_REQUEST", body
    assert isinstance(body["errorMessage"], str) and body["errorMessage"]
    assert isinstance(body["data"], dict), body


PEOPLE = [
    {"_id": "p1", "name": "Carol", "age": 35, "city": "Berlin"},
    {"_id": "p2", "name": "alice", "age": 28, "city": "Athens"},
    {"_id": "p3", "name": "Bob", "age": 42, "city": "Berlin"},
    {"_id": "p4", "name": "dave", "age": None, "city": "Cairo"},
    {"_id": "p5", "name": "Eve", "age": 31, "city": None},
]


def people(engine, name="people"):
    """Five people; ages are distinct, (city, age) pairs are distinct."""
    return create_table(
        engine,
        name,
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(50)),
        sa.Column("age", sa.Integer),
        sa.Column("city", sa.String(50)),
        rows=[PEOPLE[i] for i in (3, 0, 4, 2, 1)],  # stored out of order
    )


def numbered(engine, name, count):
    """``count`` rows with _id "r0000".. and v = their number."""
    return create_table(
        engine,
        name,
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("v", sa.Integer),
        rows=[{"_id": f"r{i:04d}", "v": i} for i in reversed(range(count))],
    )


def sorted_ids(wix, collection, sort):
    return wix.ids(collection, sort=sort)


# --- default order and sorting -----------------------------------------------


def test_default_order_is_id_ascending_by_code_point(wix, engine):
    create_table(
        engine,
        "things",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.Integer),
        rows=[
            {"_id": "b", "n": 1},
            {"_id": "Z", "n": 2},
            {"_id": "é", "n": 3},
            {"_id": "a", "n": 4},
            {"_id": "C", "n": 5},
        ],
    )
    status, body = wix.query("things")
    assert status == 200, body
    assert body["items"] == [
        {"_id": "C", "n": 5},
        {"_id": "Z", "n": 2},
        {"_id": "a", "n": 4},
        {"_id": "b", "n": 1},
        {"_id": "é", "n": 3},
    ]


def test_items_have_every_column_with_nulls(wix, engine):
    people(engine)
    assert wix.items("people") == PEOPLE


def test_sort_by_one_field(wix, engine):
    people(engine)
    asc = ["p4", "p2", "p5", "p1", "p3"]  # the null age first
    assert sorted_ids(wix, "people", [{"fieldName": "age", "order": "ASC"}]) == asc
    assert sorted_ids(wix, "people", [{"fieldName": "age"}]) == asc  # ASC by default
    assert sorted_ids(wix, "people", [{"fieldName": "age", "order": "DESC"}]) == asc[::-1]


def test_sort_returns_whole_items(wix, engine):
    people(engine)
    items = wix.items("people", {"sort": [{"fieldName": "age", "order": "DESC"}]})
    by_id = {p["_id"]: p for p in PEOPLE}
    assert items == [by_id[i] for i in ("p3", "p1", "p5", "p2", "p4")]


def test_sort_by_several_fields(wix, engine):
    people(engine)
    city_asc_age_desc = [
        {"fieldName": "city", "order": "ASC"},
        {"fieldName": "age", "order": "DESC"},
    ]
    assert sorted_ids(wix, "people", city_asc_age_desc) == ["p5", "p2", "p3", "p1", "p4"]
    city_desc_age_asc = [
        {"fieldName": "city", "order": "DESC"},
        {"fieldName": "age", "order": "ASC"},
    ]
    assert sorted_ids(wix, "people", city_desc_age_asc) == ["p4", "p1", "p3", "p2", "p5"]


def test_sort_with_filter(wix, engine):
    people(engine)
    ids = wix.ids("people", {"age": {"$gte": 30}}, sort=[{"fieldName": "name", "order": "DESC"}])
    assert ids == ["p5", "p1", "p3"]  # "Eve" > "Carol" > "Bob"


TEXTS = ["b", "A", "é", "Z", "a", "B", "ab", "É"]


def test_text_sort_is_by_code_point(wix, engine):
    create_table(
        engine,
        "words",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("word", sa.String(20)),
        rows=[{"_id": f"w{i}", "word": w} for i, w in enumerate(TEXTS)],
    )
    expected = ["A", "B", "Z", "a", "ab", "b", "É", "é"]
    assert sorted(TEXTS) == expected  # Python orders str by code point
    asc = wix.items("words", {"sort": [{"fieldName": "word", "order": "ASC"}]})
    assert [item["word"] for item in asc] == expected
    desc = wix.items("words", {"sort": [{"fieldName": "word", "order": "DESC"}]})
    assert [item["word"] for item in desc] == expected[::-1]


def test_nulls_first_ascending_last_descending(wix, engine):
    people(engine)
    # text column with a null and a tie ("Berlin" twice), broken by _id
    asc = [{"fieldName": "city", "order": "ASC"}, {"fieldName": "_id", "order": "ASC"}]
    assert sorted_ids(wix, "people", asc) == ["p5", "p2", "p1", "p3", "p4"]
    desc = [{"fieldName": "city", "order": "DESC"}, {"fieldName": "_id", "order": "ASC"}]
    assert sorted_ids(wix, "people", desc) == ["p4", "p1", "p3", "p2", "p5"]


def test_nulls_order_with_several_nulls(wix, engine):
    create_table(
        engine,
        "scores",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("score", sa.Double),
        rows=[
            {"_id": "s1", "score": 2.5},
            {"_id": "s2", "score": None},
            {"_id": "s3", "score": -1.0},
            {"_id": "s4", "score": None},
            {"_id": "s5", "score": 10.0},
        ],
    )
    asc = [{"fieldName": "score", "order": "ASC"}, {"fieldName": "_id", "order": "DESC"}]
    assert sorted_ids(wix, "scores", asc) == ["s4", "s2", "s3", "s1", "s5"]
    desc = [{"fieldName": "score", "order": "DESC"}, {"fieldName": "_id", "order": "DESC"}]
    assert sorted_ids(wix, "scores", desc) == ["s5", "s1", "s3", "s4", "s2"]


def test_sort_by_unknown_field_is_a_validation_error(wix, engine):
    people(engine)
    status, body = wix.query("people", {"sort": [{"fieldName": "nope", "order": "ASC"}]})
    assert_validation_error(status, body, "nope", "nope")


# --- projection --------------------------------------------------------------


def test_fields_projection(wix, engine):
    people(engine)
    items = wix.items("people", {"fields": ["name"]})
    assert items == [{"_id": p["_id"], "name": p["name"]} for p in PEOPLE]
    items = wix.items("people", {"fields": ["city", "_id", "age"]})
    assert items == [{"_id": p["_id"], "city": p["city"], "age": p["age"]} for p in PEOPLE]


def test_fields_projection_with_filter_and_sort_on_other_fields(wix, engine):
    people(engine)
    items = wix.items(
        "people",
        {
            "filter": {"age": {"$lt": 40}},
            "sort": [{"fieldName": "age", "order": "DESC"}],
            "fields": ["name"],
        },
    )
    assert items == [
        {"_id": "p1", "name": "Carol"},
        {"_id": "p5", "name": "Eve"},
        {"_id": "p2", "name": "alice"},
    ]


def test_empty_fields_means_every_field(wix, engine):
    people(engine)
    assert wix.items("people", {"fields": []}) == PEOPLE


def test_fields_with_unknown_field_is_a_validation_error(wix, engine):
    people(engine)
    status, body = wix.query("people", {"fields": ["name", "nope"]})
    assert_validation_error(status, body, "nope", "nope")


# --- offset paging -----------------------------------------------------------


def test_default_limit_is_50(wix, engine):
    numbered(engine, "sixty", 60)
    status, body = wix.query("sixty")
    assert status == 200, body
    assert [item["_id"] for item in body["items"]] == [f"r{i:04d}" for i in range(50)]
    assert body["pagingMetadata"] == {"count": 50, "offset": 0}


def test_limit_1000_is_allowed_1001_is_not(wix, engine):
    numbered(engine, "many", 1001)
    status, body = wix.query("many", {"paging": {"limit": 1000, "offset": 0}})
    assert status == 200, body
    assert [item["_id"] for item in body["items"]] == [f"r{i:04d}" for i in range(1000)]
    assert body["pagingMetadata"] == {"count": 1000, "offset": 0}

    status, body = wix.query("many", {"paging": {"limit": 1001, "offset": 0}})
    assert_validation_error(status, body, "query.paging.limit", 1001)

    status, body = wix.query("many", {"cursorPaging": {"limit": 1001}})
    assert_validation_error(status, body, "query.cursorPaging.limit", 1001)


def test_negative_offset_is_a_validation_error(wix, engine):
    numbered(engine, "nums", 3)
    status, body = wix.query("nums", {"paging": {"limit": 10, "offset": -1}})
    assert_validation_error(status, body, "query.paging.offset", -1)


def test_offset_paging_metadata(wix, engine):
    numbered(engine, "nums", 7)
    status, body = wix.query("nums", {"paging": {"limit": 3, "offset": 2}})
    assert status == 200, body
    assert [item["v"] for item in body["items"]] == [2, 3, 4]
    assert body["pagingMetadata"] == {"count": 3, "offset": 2}

    status, body = wix.query("nums", {"paging": {"limit": 3, "offset": 5}})
    assert status == 200, body
    assert [item["v"] for item in body["items"]] == [5, 6]
    assert body["pagingMetadata"] == {"count": 2, "offset": 5}

    status, body = wix.query("nums", {"paging": {"limit": 3, "offset": 2}}, returnTotalCount=False)
    assert status == 200, body
    assert body["pagingMetadata"] == {"count": 3, "offset": 2}


def test_offset_paging_total_only_when_asked(wix, engine):
    numbered(engine, "nums", 7)
    status, body = wix.query("nums", {"paging": {"limit": 3, "offset": 2}}, returnTotalCount=True)
    assert status == 200, body
    assert [item["v"] for item in body["items"]] == [2, 3, 4]
    assert body["pagingMetadata"] == {"count": 3, "offset": 2, "total": 7}

    # total counts what the filter selects, not the page and not the table
    query = {"filter": {"v": {"$gt": 1}}, "paging": {"limit": 3, "offset": 4}}
    status, body = wix.query("nums", query, returnTotalCount=True)
    assert status == 200, body
    assert [item["v"] for item in body["items"]] == [6]
    assert body["pagingMetadata"] == {"count": 1, "offset": 4, "total": 5}

    query = {"filter": {"v": {"$gt": 1}}, "paging": {"limit": 3, "offset": 10}}
    status, body = wix.query("nums", query, returnTotalCount=True)
    assert status == 200, body
    assert body["items"] == []
    assert body["pagingMetadata"] == {"count": 0, "offset": 10, "total": 5}


# --- cursor paging -----------------------------------------------------------

# (grp, score) of the rows the filter keeps, in the order of GRP_SCORE_SORT: grp
# ascending by code point with nulls first, score descending with nulls last.
# Pages of 10 end inside a tie of (null, null) and inside a tie of ("b", 1.5).
KEPT = (
    [(None, 2.0)] * 2
    + [(None, 1.5)] * 3
    + [(None, None)] * 6
    + [("B", 2.0), ("B", None)]
    + [("a", 2.0)] * 3
    + [("a", None)]
    + [("b", 1.5)] * 5
)
SKIPPED = [(None, None), ("B", 2.0), ("b", 1.5)]
GRP_SCORE_SORT = [
    {"fieldName": "grp", "order": "ASC"},
    {"fieldName": "score", "order": "DESC"},
]
KEEP_FILTER = {"kind": "keep"}


def events(engine, name="events"):
    """25 rows, 22 of them kept by KEEP_FILTER; _ids are not in sort order."""
    specs = [(g, s, "keep") for g, s in KEPT] + [(g, s, "skip") for g, s in SKIPPED]
    rows = [
        {"_id": f"e{(k * 7) % 25:02d}", "grp": g, "score": s, "kind": kind}
        for k, (g, s, kind) in enumerate(specs)
    ]
    assert len(rows) == 25
    return create_table(
        engine,
        name,
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("grp", sa.String(10)),
        sa.Column("score", sa.Double),
        sa.Column("kind", sa.String(10)),
        rows=rows,
    )


def kept_ids():
    return sorted(f"e{(k * 7) % 25:02d}" for k in range(len(KEPT)))


def first_page(wix, collection="events", limit=10, **extra):
    query = {"filter": KEEP_FILTER, "sort": GRP_SCORE_SORT, "cursorPaging": {"limit": limit}}
    query.update(extra.pop("query", {}))
    status, body = wix.query(collection, query, **extra)
    assert status == 200, body
    return body


def follow(wix, cursor, collection="events", limit=10, **extra):
    """A follow-up call as Wix makes it: only the collection and the cursor."""
    request = {
        "collectionId": collection,
        "query": {"cursorPaging": {"limit": limit, "cursor": cursor}},
        **extra,
    }
    status, body = wix.post("/v3/items/query", request)
    assert status == 200, body
    return body


def test_cursor_paging_walks_every_row_in_order(wix, engine):
    events(engine)
    pages = [first_page(wix)]
    while "next" in pages[-1]["pagingMetadata"]["cursors"]:
        assert len(pages) < 10, "cursor paging does not end"
        pages.append(follow(wix, pages[-1]["pagingMetadata"]["cursors"]["next"]))

    assert [len(page["items"]) for page in pages] == [10, 10, 2]
    for page in pages:
        assert page["pagingMetadata"]["count"] == len(page["items"])
    items = [item for page in pages for item in page["items"]]
    assert [(item["grp"], item["score"]) for item in items] == KEPT
    ids = [item["_id"] for item in items]
    assert sorted(ids) == kept_ids()  # every kept row exactly once
    assert all(item["kind"] == "keep" for item in items)
    assert set(items[0]) == {"_id", "grp", "score", "kind"}

    first, middle, last = (page["pagingMetadata"] for page in pages)
    assert set(first) == {"count", "cursors"}
    assert set(first["cursors"]) == {"next"}  # nothing precedes the first page
    assert set(middle["cursors"]) == {"next", "prev"}
    assert set(last["cursors"]) == {"prev"}  # nothing follows the last page
    for metadata in (first, middle, last):
        for cursor in metadata["cursors"].values():
            assert isinstance(cursor, str) and cursor


def test_cursor_paging_matches_offset_paging_with_default_order(wix, engine):
    numbered(engine, "nums", 23)
    status, body = wix.query("nums", {"cursorPaging": {"limit": 10}})
    assert status == 200, body
    ids = [item["_id"] for item in body["items"]]
    cursor = body["pagingMetadata"]["cursors"]["next"]
    while cursor:
        body = follow(wix, cursor, collection="nums")
        ids += [item["_id"] for item in body["items"]]
        cursor = body["pagingMetadata"]["cursors"].get("next")
    assert ids == [f"r{i:04d}" for i in range(23)]


def test_no_next_cursor_when_the_page_ends_exactly_at_the_last_row(wix, engine):
    numbered(engine, "nums", 20)
    status, body = wix.query("nums", {"cursorPaging": {"limit": 10}})
    assert status == 200, body
    assert set(body["pagingMetadata"]["cursors"]) == {"next"}
    body = follow(wix, body["pagingMetadata"]["cursors"]["next"], collection="nums")
    assert [item["_id"] for item in body["items"]] == [f"r{i:04d}" for i in range(10, 20)]
    assert body["pagingMetadata"]["count"] == 10
    assert set(body["pagingMetadata"]["cursors"]) == {"prev"}


def test_single_cursor_page_has_no_cursors(wix, engine):
    numbered(engine, "nums", 5)
    status, body = wix.query("nums", {"cursorPaging": {"limit": 10}})
    assert status == 200, body
    assert [item["v"] for item in body["items"]] == [0, 1, 2, 3, 4]
    assert body["pagingMetadata"] == {"count": 5, "cursors": {}}


def test_prev_cursor_returns_the_previous_page_exactly(wix, engine):
    events(engine)
    page1 = first_page(wix)
    page2 = follow(wix, page1["pagingMetadata"]["cursors"]["next"])
    page3 = follow(wix, page2["pagingMetadata"]["cursors"]["next"])

    back1 = follow(wix, page2["pagingMetadata"]["cursors"]["prev"])
    assert back1["items"] == page1["items"]
    assert back1["pagingMetadata"]["count"] == 10
    assert set(back1["pagingMetadata"]["cursors"]) == {"next"}

    back2 = follow(wix, page3["pagingMetadata"]["cursors"]["prev"])
    assert back2["items"] == page2["items"]
    assert set(back2["pagingMetadata"]["cursors"]) == {"next", "prev"}

    # and forward again from a page reached backwards
    again3 = follow(wix, back2["pagingMetadata"]["cursors"]["next"])
    assert again3["items"] == page3["items"]
    assert set(again3["pagingMetadata"]["cursors"]) == {"prev"}


def test_cursor_paging_total_count(wix, engine):
    events(engine)
    page1 = first_page(wix, returnTotalCount=True)
    metadata = page1["pagingMetadata"]
    assert metadata["count"] == 10
    assert metadata["total"] == 22
    assert set(metadata) == {"count", "cursors", "total"}

    page2 = follow(wix, metadata["cursors"]["next"], returnTotalCount=True)
    assert page2["pagingMetadata"]["count"] == 10
    assert page2["pagingMetadata"]["total"] == 22

    page1_without = first_page(wix)
    assert "total" not in page1_without["pagingMetadata"]


def test_tampered_cursor_is_a_bad_request(wix, engine):
    events(engine)
    cursor = first_page(wix)["pagingMetadata"]["cursors"]["next"]
    middle = len(cursor) // 2
    flipped = "A" if cursor[middle] != "A" else "B"
    tampered = cursor[:middle] + flipped + cursor[middle + 1 :]
    assert tampered != cursor

    request = {
        "collectionId": "events",
        "query": {"cursorPaging": {"limit": 10, "cursor": tampered}},
    }
    status, body = wix.post("/v3/items/query", request)
    assert_bad_request(status, body)

    request["query"]["cursorPaging"]["cursor"] = "not-a-cursor"
    status, body = wix.post("/v3/items/query", request)
    assert_bad_request(status, body)


def test_cursor_of_another_collection_is_a_bad_request(wix, engine):
    events(engine, "events")
    events(engine, "other_events")
    cursor = first_page(wix, collection="events")["pagingMetadata"]["cursors"]["next"]
    request = {
        "collectionId": "other_events",
        "query": {"cursorPaging": {"limit": 10, "cursor": cursor}},
    }
    status, body = wix.post("/v3/items/query", request)
    assert_bad_request(status, body)


def test_cursor_carries_the_projection(wix, engine):
    events(engine)
    page1 = first_page(wix, query={"fields": ["grp"]})
    assert [item["grp"] for item in page1["items"]] == [g for g, _ in KEPT[:10]]
    assert all(set(item) == {"_id", "grp"} for item in page1["items"])

    page2 = follow(wix, page1["pagingMetadata"]["cursors"]["next"])
    assert [item["grp"] for item in page2["items"]] == [g for g, _ in KEPT[10:20]]
    assert all(set(item) == {"_id", "grp"} for item in page2["items"])

    back = follow(wix, page2["pagingMetadata"]["cursors"]["prev"])
    assert back["items"] == page1["items"]


# --- the seed's example ------------------------------------------------------


def test_seed_real_estate_example(wix, engine):
    create_table(
        engine,
        "SpringfieldProperties",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("address", sa.String(100)),
        sa.Column("floor", sa.Integer),
        sa.Column("aptNum", sa.Integer),
        sa.Column("numBedrooms", sa.Integer),
        sa.Column("numBaths", sa.Integer),
        sa.Column("price", sa.Integer),
        sa.Column("pets", sa.Boolean),
        sa.Column("airConditioning", sa.Boolean),
        rows=[
            {
                "_id": "e831385d-d067-4905-a98a-456f5a526ca2",
                "address": "247 Foreverblue Blvd",
                "floor": 2,
                "aptNum": 2,
                "numBedrooms": 1,
                "numBaths": 1,
                "price": 680,
                "pets": False,
                "airConditioning": True,
            },
            {
                "_id": "0b1c2d3e-0000-4000-8000-000000000001",
                "address": "19 Plympton St",
                "floor": 1,
                "aptNum": 7,
                "numBedrooms": 3,
                "numBaths": 2,
                "price": 701,
                "pets": True,
                "airConditioning": True,
            },
            {
                "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
                "address": "742 Evergreen Terrace",
                "floor": 4,
                "aptNum": 2,
                "numBedrooms": 2,
                "numBaths": 1,
                "price": 600,
                "pets": True,
                "airConditioning": False,
            },
            {
                "_id": "0b1c2d3e-0000-4000-8000-000000000002",
                "address": "1 Industrial Way",
                "floor": 3,
                "aptNum": 12,
                "numBedrooms": 1,
                "numBaths": 1,
                "price": 549,
                "pets": False,
                "airConditioning": False,
            },
            {
                "_id": "0b1c2d3e-0000-4000-8000-000000000003",
                "address": "Springfield Mansion",
                "floor": 0,
                "aptNum": 1,
                "numBedrooms": 9,
                "numBaths": 6,
                "price": 5000,
                "pets": True,
                "airConditioning": True,
            },
        ],
    )
    request = {
        "collectionId": "SpringfieldProperties",
        "query": {
            "filter": {"price": {"$gte": 550, "$lte": 700}},
            "sort": [{"fieldName": "price"}],
            "fields": [],
            "paging": {"limit": 3, "offset": 0},
        },
        "includeReferencedItems": [],
        "consistentRead": False,
        "returnTotalCount": False,
    }
    status, body = wix.post("/v3/items/query", request)
    assert status == 200, body
    assert body["items"] == [
        {
            "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
            "address": "742 Evergreen Terrace",
            "floor": 4,
            "aptNum": 2,
            "numBedrooms": 2,
            "numBaths": 1,
            "price": 600,
            "pets": True,
            "airConditioning": False,
        },
        {
            "_id": "e831385d-d067-4905-a98a-456f5a526ca2",
            "address": "247 Foreverblue Blvd",
            "floor": 2,
            "aptNum": 2,
            "numBedrooms": 1,
            "numBaths": 1,
            "price": 680,
            "pets": False,
            "airConditioning": True,
        },
    ]
    assert [type(item["pets"]) for item in body["items"]] == [bool, bool]
    assert body["pagingMetadata"] == {"count": 2, "offset": 0}


def test_cursor_pages_use_keys_not_offsets(engine, app, wix):
    """A cursor page continues from the last row's sort keys: no OFFSET is sent,
    so a page deep into a large table costs what the first page costs."""
    create_table(
        engine,
        "deep",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("n", sa.Integer),
        rows=[{"_id": f"r{i:03d}", "n": i % 7} for i in range(60)],
    )
    statements = []
    app_engine = app.extensions["connector.engine"]

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement.upper(), parameters))

    sa.event.listen(app_engine, "before_cursor_execute", record)
    try:
        query = {"sort": [{"fieldName": "n"}], "cursorPaging": {"limit": 7}}
        status, body = wix.query("deep", query)
        seen = [item["_id"] for item in body["items"]]
        while "next" in body["pagingMetadata"]["cursors"]:
            status, body = wix.query(
                "deep",
                {"cursorPaging": {"limit": 7, "cursor": body["pagingMetadata"]["cursors"]["next"]}},
            )
            assert status == 200
            seen += [item["_id"] for item in body["items"]]
    finally:
        sa.event.remove(app_engine, "before_cursor_execute", record)
    assert seen == [f"r{i:03d}" for i in sorted(range(60), key=lambda i: (i % 7, i))]
    pages = [(s, p) for s, p in statements if s.startswith("SELECT") and "FROM DEEP" in s]
    assert len(pages) == 9
    # SQLAlchemy writes "LIMIT ? OFFSET ?" on SQLite even without an offset: it is 0 there.
    assert all("OFFSET" not in s or p[-1] == 0 for s, p in pages)
