"""The schema API: collections/get, /create, /update and /delete, read-only schema
mode and the table allow-list."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from conftest import DATETIME, TEXT_ID, TIME, Client, create_table
from wix_contract import COLUMN_TYPES as ALL_TYPES
from wix_contract import expected_capabilities as capabilities

from connector import create_app

# --- expected shapes --------------------------------------------------------

WRITABLE_OPS = ["QUERY", "COUNT", "AGGREGATE", "DISTINCT", "INSERT", "UPDATE", "REMOVE", "TRUNCATE"]
READ_ONLY_OPS = ["QUERY", "COUNT", "AGGREGATE", "DISTINCT"]
DEFAULT_PERMISSIONS = {"insert": "ADMIN", "update": "ADMIN", "remove": "ADMIN", "read": "ANYONE"}


SYSTEM_NAMES = {
    "_id": "ID",
    "_createdDate": "Created Date",
    "_updatedDate": "Updated Date",
    "_owner": "Owner",
}

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def field(key: str, wix_type: str, display_name: str | None = None, description=None) -> dict:
    """The expected collections/get form of a field."""
    expected = {
        "key": key,
        "displayName": display_name or SYSTEM_NAMES.get(key, key),
        "type": wix_type,
        "encrypted": False,
        "capabilities": capabilities(wix_type),
    }
    if description is not None:
        expected["description"] = description
    return expected


ID = field("_id", "TEXT")
SYSTEM_TAIL = [
    field("_createdDate", "DATETIME"),
    field("_updatedDate", "DATETIME"),
    field("_owner", "TEXT"),
]


def collection(
    collection_id, fields, *, display_name=None, read_only=False, permissions=None
) -> dict:
    """The expected collections/get form of a collection."""
    return {
        "id": collection_id,
        "displayName": display_name or collection_id,
        "fields": fields,
        "capabilities": {"dataOperations": READ_ONLY_OPS if read_only else WRITABLE_OPS},
        "permissions": permissions or DEFAULT_PERMISSIONS,
        "pagingMode": "OFFSET",
    }


# --- helpers ----------------------------------------------------------------


def get(wix, ids=()):
    status, body = wix.post("/v3/collections/get", {"collectionIds": list(ids)})
    assert status == 200, body
    return body["collections"]


def create(wix, collection_id, fields, **extra):
    status, body = wix.post(
        "/v3/collections/create", {"collection": {"id": collection_id, "fields": fields, **extra}}
    )
    assert status == 200, body
    return body["collection"]


def update(wix, collection_id, fields, **extra):
    return wix.post(
        "/v3/collections/update", {"collection": {"id": collection_id, "fields": fields, **extra}}
    )


def insert(wix, collection_id, items):
    status, body = wix.post("/v3/items/insert", {"collectionId": collection_id, "items": items})
    assert status == 200, body
    assert all("item" in result for result in body["results"]), body
    return [result["item"] for result in body["results"]]


def without_dates(items):
    """Items without their server-set dates (checked to be set and equal)."""
    out = []
    for item in items:
        item = dict(item)
        created, updated = item.pop("_createdDate"), item.pop("_updatedDate")
        assert created == updated, item
        assert set(created) == {"$date"} and DATE_RE.match(created["$date"]), created
        out.append(item)
    return out


def sql_columns(engine, table):
    """The table's SQL columns as (name, type) pairs, for "nothing changed" checks."""
    return [(c["name"], str(c["type"])) for c in sa.inspect(engine).get_columns(table)]


def change_error(status, body, field_keys):
    assert status == 400, body
    assert body["errorCode"] == "COLLECTION_CHANGE_NOT_SUPPORTED", body
    errors = body["data"]["errors"]
    assert sorted(e["fieldKey"] for e in errors) == sorted(field_keys), body
    assert all(isinstance(e["message"], str) and e["message"] for e in errors), body


def violations(body):
    return [
        {"fieldPath": v["fieldPath"], "rejectedValue": v["rejectedValue"]}
        for v in body["data"]["violations"]
    ]


# --- collections/get over reflected tables ----------------------------------


@pytest.fixture
def reflected(engine):
    create_table(
        engine,
        "products",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("price", sa.Double),
        sa.Column("qty", sa.Integer),
        sa.Column("active", sa.Boolean),
        sa.Column("born", sa.Date),
        sa.Column("seen", DATETIME),
        sa.Column("opens", TIME),
        sa.Column("details", sa.JSON),
        rows=[{"_id": "p1", "name": "Pen"}],
    )
    create_table(
        engine,
        "events",
        sa.Column("id", TEXT_ID),
        sa.Column("msg", sa.String(100)),
        rows=[{"id": "e1", "msg": "hello"}],
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE VIEW product_names AS SELECT _id, name FROM products")


PRODUCTS = collection(
    "products",
    [
        ID,
        field("name", "TEXT"),
        field("price", "NUMBER"),
        field("qty", "NUMBER"),
        field("active", "BOOLEAN"),
        field("born", "DATE"),
        field("seen", "DATETIME"),
        field("opens", "TIME"),
        field("details", "OBJECT"),
    ],
)
PRODUCT_NAMES = collection("product_names", [ID, field("name", "TEXT")], read_only=True)
EVENTS = collection("events", [ID, field("msg", "TEXT")], read_only=True)


def test_get_all_collections_sorted_by_id(reflected, wix):
    # The app made its own _connector tables at start-up: they are never collections.
    assert get(wix) == [EVENTS, PRODUCT_NAMES, PRODUCTS]
    status, body = wix.post("/v3/collections/get", {})
    assert (status, body) == (200, {"collections": [EVENTS, PRODUCT_NAMES, PRODUCTS]})


def test_get_requested_ids_in_order_skipping_unknown(reflected, wix):
    assert get(wix, ["products", "nope", "events"]) == [PRODUCTS, EVENTS]
    assert get(wix, ["product_names"]) == [PRODUCT_NAMES]
    assert get(wix, ["events", "products", "product_names"]) == [EVENTS, PRODUCTS, PRODUCT_NAMES]
    assert get(wix, ["nope"]) == []


def test_connector_tables_are_never_collections(engine, wix):
    with engine.connect() as conn:
        internal = [t for t in sa.inspect(conn).get_table_names() if t.startswith("_connector")]
    assert internal  # the migrations ran
    assert get(wix) == []
    assert get(wix, internal) == []
    status, body = wix.query(internal[0])
    assert status == 404 and body["errorCode"] == "COLLECTION_NOT_FOUND", body


# --- collections/create -----------------------------------------------------


def _key(wix_type):
    return "f_" + wix_type.lower()


VALUES = {
    "TEXT": "hello world",
    "NUMBER": 1234.567890123457,
    "BOOLEAN": True,
    "DATE": "2021-03-04",
    "DATETIME": {"$date": "2021-01-02T03:04:05.678Z"},
    "TIME": "13:14:15.678",
    "URL": "https://example.com/a?b=c",
    "RICH_TEXT": "<p>Hello <b>world</b></p>",
    "IMAGE": "wix:image://v1/abc_123.png/abc.png#originWidth=10&originHeight=20",
    "VIDEO": "wix:video://v1/abc_123.mp4/abc.mp4#posterUri=p.jpg",
    "AUDIO": "wix:audio://v1/abc_123.mp3/abc.mp3#duration=12",
    "DOCUMENT": "wix:document://v1/abc_123.pdf/abc.pdf",
    "LANGUAGE": "en",
    "PAGE_LINK": "/about-us",
    "OBJECT": {"a": 1, "b": [1, "x", None], "c": {"d": True}},
    "ANY": [1, "two", {"three": 3.5}, None, False],
    "ADDRESS": {
        "formatted": "1 Main St, Springfield",
        "location": {"latitude": 39.78, "longitude": -89.65},
        "city": "Springfield",
    },
    "RICH_CONTENT": {"nodes": [{"type": "PARAGRAPH", "id": "n1", "nodes": []}]},
    "MEDIA_GALLERY": [{"type": "image", "src": "wix:image://v1/x.png/x.png", "title": "X"}],
    "ARRAY": [1, "a", True, {"k": "v"}],
    "ARRAY_STRING": ["a", "b", "c"],
    "ARRAY_DOCUMENT": ["wix:document://v1/x.pdf/x.pdf"],
}
assert list(VALUES) == ALL_TYPES


def test_create_every_supported_type_and_round_trip_a_value_of_each(wix):
    request_fields = [
        {
            "key": _key(t),
            "displayName": f"{t.title()} field",
            "description": f"A {t} value",
            "type": t,
            "encrypted": False,
        }
        for t in ALL_TYPES
    ]
    expected = collection(
        "every",
        [ID]
        + [field(_key(t), t, f"{t.title()} field", f"A {t} value") for t in ALL_TYPES]
        + SYSTEM_TAIL,
        display_name="Every type",
    )
    assert create(wix, "every", request_fields, displayName="Every type") == expected
    assert get(wix, ["every"]) == [expected]

    full = {"_id": "a", **{_key(t): v for t, v in VALUES.items()}, "_owner": "owner-1"}
    sparse = {"_id": "b", "f_number": 10}
    inserted = insert(wix, "every", [full, sparse])
    stored_sparse = {"_id": "b", **{_key(t): None for t in ALL_TYPES}, "_owner": None}
    stored_sparse["f_number"] = 10.0
    assert without_dates(inserted) == [full, stored_sparse]

    items = wix.items("every")
    assert without_dates(items) == [full, stored_sparse]
    assert items == inserted
    assert type(items[0]["f_number"]) is float
    assert type(items[1]["f_number"]) is float  # 10 is stored and read as a double
    # Items keep the column order: _id, the fields as requested, the system fields.
    order = ["_id", *(_key(t) for t in ALL_TYPES), "_createdDate", "_updatedDate", "_owner"]
    assert list(items[0]) == order


def test_a_batch_of_every_type_stores_what_one_item_at_a_time_stores(wix):
    """Items with the same fields go in as one statement (on PostgreSQL an array
    per column): each comes back, in request order, as a lone insert stores it."""
    create(wix, "every", [{"key": _key(t), "type": t} for t in ALL_TYPES])
    full = {_key(t): v for t, v in VALUES.items()}
    nulls = {_key(t): None for t in ALL_TYPES}
    batch = [{"_id": "c", **full}, {"_id": "a", **nulls}, {"_id": "b", **full}]
    alone = [{**item, "_id": f"{item['_id']}-alone"} for item in batch]

    batched = without_dates(insert(wix, "every", batch))
    one_by_one = [without_dates(insert(wix, "every", [item]))[0] for item in alone]

    expected = [{**item, "_owner": None} for item in batch]
    assert batched == expected
    assert one_by_one == [{**item, "_id": f"{item['_id']}-alone"} for item in expected]
    assert without_dates(wix.items("every", {"filter": {"_id": {"$in": ["a", "b", "c"]}}})) == [
        expected[1],
        expected[2],
        expected[0],
    ]


def test_create_adds_missing_system_fields(wix):
    expected = collection("notes", [ID, field("body", "TEXT")] + SYSTEM_TAIL)
    assert create(wix, "notes", [{"key": "body", "type": "TEXT"}]) == expected
    assert get(wix, ["notes"]) == [expected]


def test_create_does_not_duplicate_given_system_fields(wix):
    fields = [
        {"key": "_owner", "type": "TEXT"},
        {"key": "name", "type": "TEXT"},
        {"key": "_id", "type": "TEXT", "displayName": "Key"},
        {"key": "_createdDate", "type": "DATETIME", "displayName": "Made"},
    ]
    expected = collection(
        "people",
        [
            field("_id", "TEXT", "Key"),
            field("_owner", "TEXT"),
            field("name", "TEXT"),
            field("_createdDate", "DATETIME", "Made"),
            field("_updatedDate", "DATETIME"),
        ],
    )
    assert create(wix, "people", fields) == expected
    assert get(wix) == [expected]
    [item] = insert(wix, "people", [{"_id": "x", "name": "Ada", "_owner": "u1"}])
    assert without_dates([item]) == [{"_id": "x", "_owner": "u1", "name": "Ada"}]


def test_create_the_seed_example(wix):
    request = {
        "collection": {
            "id": "cities",
            "displayName": "Cities",
            "fields": [
                {
                    "key": "name",
                    "displayName": "Name",
                    "description": "The name of the city",
                    "type": "TEXT",
                    "encrypted": False,
                },
                {
                    "key": "country",
                    "displayName": "Country",
                    "description": "Country code",
                    "type": "TEXT",
                    "encrypted": False,
                },
                {"key": "_id", "displayName": "ID", "type": "TEXT", "encrypted": False},
                {
                    "key": "_createdDate",
                    "displayName": "Created Date",
                    "type": "DATETIME",
                    "encrypted": False,
                },
                {
                    "key": "_updatedDate",
                    "displayName": "Updated Date",
                    "type": "DATETIME",
                    "encrypted": False,
                },
                {"key": "_owner", "displayName": "Owner", "type": "TEXT", "encrypted": False},
            ],
            "permissions": {
                "insert": "ADMIN",
                "update": "ADMIN",
                "remove": "ADMIN",
                "read": "ANYONE",
            },
            "pagingMode": "UNKNOWN_PAGING_MODE",
        }
    }
    expected = collection(
        "cities",
        [
            ID,
            field("name", "TEXT", "Name", "The name of the city"),
            field("country", "TEXT", "Country", "Country code"),
            *SYSTEM_TAIL,
        ],
        display_name="Cities",
    )
    status, body = wix.post("/v3/collections/create", request)
    assert (status, body) == (200, {"collection": expected})
    assert get(wix) == [expected]


def test_create_existing_collection(engine, wix):
    create_table(engine, "made_by_sql", sa.Column("_id", TEXT_ID, primary_key=True))
    create(wix, "cities", [{"key": "name", "type": "TEXT"}])
    for collection_id in ("cities", "made_by_sql"):
        status, body = wix.post(
            "/v3/collections/create",
            {"collection": {"id": collection_id, "fields": [{"key": "x", "type": "NUMBER"}]}},
        )
        assert status == 409, body
        assert body["errorCode"] == "COLLECTION_ALREADY_EXISTS"
        assert body["data"] == {"collectionId": collection_id}
    # Neither collection changed.
    assert get(wix) == [
        collection("cities", [ID, field("name", "TEXT")] + SYSTEM_TAIL),
        collection("made_by_sql", [ID]),
    ]


def test_create_unsupported_type(wix):
    status, body = wix.post(
        "/v3/collections/create",
        {
            "collection": {
                "id": "shapes",
                "fields": [{"key": "name", "type": "TEXT"}, {"key": "v", "type": "VECTOR"}],
            }
        },
    )
    assert status == 400, body
    assert body["errorCode"] == "VALIDATION_ERROR"
    assert violations(body) == [
        {"fieldPath": "collection.fields[1].type", "rejectedValue": "VECTOR"}
    ]
    assert get(wix) == []


@pytest.mark.parametrize(
    "request_collection",
    [
        pytest.param(
            {
                "id": "dupes",
                "fields": [{"key": "a", "type": "TEXT"}, {"key": "a", "type": "NUMBER"}],
            },
            id="duplicate-keys",
        ),
        pytest.param(
            {
                "id": "dupes",
                "fields": [{"key": "_id", "type": "TEXT"}, {"key": "_id", "type": "TEXT"}],
            },
            id="duplicate-system-keys",
        ),
        pytest.param(
            {"id": "_connector_mine", "fields": [{"key": "a", "type": "TEXT"}]},
            id="connector-prefix",
        ),
    ],
)
def test_create_invalid_request(wix, request_collection):
    status, body = wix.post("/v3/collections/create", {"collection": request_collection})
    assert status == 400, body
    assert body["errorCode"] == "VALIDATION_ERROR", body
    assert body["data"]["violations"], body
    assert get(wix) == []


# --- collections/update -----------------------------------------------------


def test_update_adds_and_drops_fields_and_renames(engine, wix):
    create(
        wix,
        "books",
        [
            {"key": "title", "type": "TEXT"},
            {"key": "pages", "type": "NUMBER"},
            {"key": "notes", "type": "TEXT", "displayName": "Notes"},
        ],
    )
    insert(
        wix,
        "books",
        [
            {"_id": "b1", "title": "Emma", "pages": 474, "notes": "secret", "_owner": "u1"},
            {"_id": "b2", "title": "Dune", "pages": 412, "notes": "more", "_owner": "u2"},
        ],
    )
    # System fields are left out: they are kept. capabilities/pagingMode are ignored.
    status, body = update(
        wix,
        "books",
        [
            {"key": "title", "type": "TEXT", "displayName": "Title", "description": "Its title"},
            {"key": "pages", "type": "NUMBER", "description": "Page count"},
            {"key": "year", "type": "NUMBER", "displayName": "Year"},
        ],
        displayName="Books",
        capabilities={"dataOperations": ["QUERY"]},
        pagingMode="CURSOR",
    )
    expected = collection(
        "books",
        [
            ID,
            field("title", "TEXT", "Title", "Its title"),
            field("pages", "NUMBER", None, "Page count"),
            *SYSTEM_TAIL,
            field("year", "NUMBER", "Year"),
        ],
        display_name="Books",
    )
    assert (status, body) == (200, {"collection": expected})
    assert get(wix, ["books"]) == [expected]
    assert "notes" not in [name for name, _ in sql_columns(engine, "books")]
    assert without_dates(wix.items("books")) == [
        {"_id": "b1", "title": "Emma", "pages": 474.0, "_owner": "u1", "year": None},
        {"_id": "b2", "title": "Dune", "pages": 412.0, "_owner": "u2", "year": None},
    ]

    # Adding "notes" back gives an empty column: the dropped data is gone.
    status, body = update(
        wix,
        "books",
        [
            {"key": "title", "type": "TEXT", "displayName": "Title", "description": "Its title"},
            {"key": "pages", "type": "NUMBER", "description": "Page count"},
            {"key": "year", "type": "NUMBER", "displayName": "Year"},
            {"key": "notes", "type": "TEXT"},
        ],
        displayName="Books",
    )
    assert status == 200, body
    assert body["collection"]["fields"][-1] == field("notes", "TEXT")
    assert [item["notes"] for item in wix.items("books")] == [None, None]


def test_update_text_to_url_changes_only_the_type(engine, wix):
    create(wix, "links", [{"key": "href", "type": "TEXT"}])
    insert(wix, "links", [{"_id": "a", "href": "https://example.com/A"}])
    before = sql_columns(engine, "links")
    status, body = update(wix, "links", [{"key": "href", "type": "URL"}])
    expected = collection("links", [ID, field("href", "URL")] + SYSTEM_TAIL)
    assert (status, body) == (200, {"collection": expected})
    assert get(wix, ["links"]) == [expected]
    assert sql_columns(engine, "links") == before
    assert without_dates(wix.items("links")) == [
        {"_id": "a", "href": "https://example.com/A", "_owner": None}
    ]


def test_update_text_to_number_converts(wix):
    create(wix, "codes", [{"key": "code", "type": "TEXT"}, {"key": "label", "type": "TEXT"}])
    insert(
        wix,
        "codes",
        [
            {"_id": "a", "code": "12", "label": "x"},
            {"_id": "b", "code": "-1.5", "label": "y"},
            {"_id": "c", "code": "1e3", "label": "z"},
            {"_id": "d", "code": None, "label": "w"},
        ],
    )
    status, body = update(
        wix, "codes", [{"key": "code", "type": "NUMBER"}, {"key": "label", "type": "TEXT"}]
    )
    expected = collection(
        "codes", [ID, field("code", "NUMBER"), field("label", "TEXT")] + SYSTEM_TAIL
    )
    assert (status, body) == (200, {"collection": expected})
    items = wix.items("codes")
    codes = [item["code"] for item in items]
    assert codes == [12.0, -1.5, 1000.0, None]
    assert [type(c) for c in codes[:3]] == [float, float, float]
    assert [item["label"] for item in items] == ["x", "y", "z", "w"]
    assert wix.ids("codes", {"code": {"$gt": 11}}) == ["a", "c"]


def test_failed_text_to_number_changes_nothing(engine, wix):
    create(
        wix,
        "codes",
        [{"key": "code", "type": "TEXT"}, {"key": "label", "type": "TEXT", "displayName": "Label"}],
    )
    insert(
        wix,
        "codes",
        [
            {"_id": "a", "code": "12", "label": "x"},
            {"_id": "b", "code": "twelve", "label": "y"},
            {"_id": "c", "code": None, "label": "z"},
        ],
    )
    collections_before = get(wix, ["codes"])
    items_before = wix.items("codes")
    columns_before = sql_columns(engine, "codes")

    status, body = update(
        wix,
        "codes",
        [
            {"key": "code", "type": "NUMBER"},
            {"key": "label", "type": "TEXT", "displayName": "Renamed"},
            {"key": "added", "type": "NUMBER"},
        ],
        displayName="Codes",
    )
    change_error(status, body, ["code"])
    assert len(body["data"]["errors"]) == 1

    assert get(wix, ["codes"]) == collections_before
    assert wix.items("codes") == items_before
    assert sql_columns(engine, "codes") == columns_before
    assert "added" not in [name for name, _ in columns_before]


def test_unsupported_changes_change_nothing(engine, wix):
    create(wix, "flags", [{"key": "flag", "type": "BOOLEAN"}, {"key": "name", "type": "TEXT"}])
    insert(wix, "flags", [{"_id": "a", "flag": True, "name": "n"}])
    collections_before = get(wix, ["flags"])
    items_before = wix.items("flags")
    columns_before = sql_columns(engine, "flags")
    flag_to_date = {"key": "flag", "type": "DATE"}
    created_to_text = {"key": "_createdDate", "type": "TEXT"}
    name = {"key": "name", "type": "TEXT"}
    flag = {"key": "flag", "type": "BOOLEAN"}

    extra = {"key": "extra", "type": "TEXT"}
    attempts = [
        ([flag_to_date, name], ["flag"]),
        ([flag, name, created_to_text], ["_createdDate"]),
        ([flag_to_date, created_to_text, name, extra], ["flag", "_createdDate"]),
    ]
    for fields, offending in attempts:
        status, body = update(wix, "flags", fields)
        change_error(status, body, offending)
        assert get(wix, ["flags"]) == collections_before
        assert wix.items("flags") == items_before
        assert sql_columns(engine, "flags") == columns_before


def test_update_unknown_collection(wix):
    status, body = update(wix, "nope", [{"key": "a", "type": "TEXT"}])
    assert status == 404, body
    assert body["errorCode"] == "COLLECTION_NOT_FOUND"
    assert body["data"] == {"collectionId": "nope"}
    assert get(wix) == []


def test_permissions_are_stored_and_reported(wix):
    given = {
        "insert": "SITE_MEMBER",
        "update": "SITE_MEMBER_AUTHOR",
        "remove": "ADMIN",
        "read": "SITE_MEMBER",
    }
    made = create(wix, "posts", [{"key": "body", "type": "TEXT"}], permissions=given)
    assert made["permissions"] == given
    assert get(wix, ["posts"])[0]["permissions"] == given

    changed = {
        "insert": "ANYONE",
        "update": "ANYONE",
        "remove": "SITE_MEMBER_AUTHOR",
        "read": "ADMIN",
    }
    status, body = update(wix, "posts", [{"key": "body", "type": "TEXT"}], permissions=changed)
    assert status == 200, body
    assert body["collection"] == collection(
        "posts", [ID, field("body", "TEXT")] + SYSTEM_TAIL, permissions=changed
    )
    assert get(wix, ["posts"]) == [body["collection"]]

    bad = {**changed, "read": "EVERYONE"}
    status, body = update(wix, "posts", [{"key": "body", "type": "TEXT"}], permissions=bad)
    assert status == 400 and body["errorCode"] == "VALIDATION_ERROR", body
    assert get(wix, ["posts"])[0]["permissions"] == changed


# --- collections/delete -----------------------------------------------------


def test_delete_collection(engine, wix):
    create(wix, "trash", [{"key": "name", "type": "URL", "displayName": "Name"}])
    create(wix, "kept", [{"key": "name", "type": "TEXT"}])
    insert(wix, "trash", [{"_id": "a", "name": "https://x"}])
    status, body = wix.post("/v3/collections/delete", {"collectionId": "trash"})
    assert (status, body) == (200, {})
    assert [c["id"] for c in get(wix)] == ["kept"]
    assert get(wix, ["trash"]) == []
    status, body = wix.query("trash")
    assert status == 404, body
    assert body["errorCode"] == "COLLECTION_NOT_FOUND"
    assert body["data"] == {"collectionId": "trash"}
    assert "trash" not in sa.inspect(engine).get_table_names()

    # Its metadata went too: a new "trash" does not inherit the old field's type or name.
    made = create(wix, "trash", [{"key": "name", "type": "TEXT"}])
    assert made == collection("trash", [ID, field("name", "TEXT")] + SYSTEM_TAIL)
    assert wix.items("trash") == []


def test_delete_unknown_collection(wix):
    status, body = wix.post("/v3/collections/delete", {"collectionId": "nope"})
    assert status == 404, body
    assert body["errorCode"] == "COLLECTION_NOT_FOUND"
    assert body["data"] == {"collectionId": "nope"}


# --- settings ---------------------------------------------------------------


def _app(app_config, **settings):
    return create_app({**app_config, **settings})


def test_read_only_schema(engine, app_config, rsa_key):
    create_table(
        engine,
        "cities",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(100)),
        rows=[{"_id": "a", "name": "Paris"}],
    )
    cities = collection("cities", [ID, field("name", "TEXT")])
    for value in (True, "true"):
        app = _app(app_config, CONNECTOR_READ_ONLY_SCHEMA=value)
        try:
            wix = Client(app, rsa_key)
            status, body = wix.post("/v3/capabilities/get", {})
            assert status == 200, body
            assert body["supportsCollectionModifications"] is False
            assert body["supportedFieldTypes"] == []
            refused = [
                ("/v3/collections/create", {"collection": {"id": "new", "fields": []}}),
                (
                    "/v3/collections/update",
                    {"collection": {"id": "cities", "fields": [{"key": "x", "type": "TEXT"}]}},
                ),
                ("/v3/collections/delete", {"collectionId": "cities"}),
            ]
            for path, request in refused:
                status, body = wix.post(path, request)
                assert status == 400, (path, body)
                assert body["errorCode"] == "COLLECTION_CHANGE_NOT_SUPPORTED", (path, body)
            assert get(wix) == [cities]
            assert wix.items("cities") == [{"_id": "a", "name": "Paris"}]
        finally:
            app.extensions["connector.engine"].dispose()


def test_table_allow_list(engine, app_config, rsa_key):
    for name in ("alpha", "beta", "gamma"):
        create_table(
            engine,
            name,
            sa.Column("_id", TEXT_ID, primary_key=True),
            rows=[{"_id": name[0]}],
        )
    app = _app(app_config, CONNECTOR_TABLES="beta,alpha")
    try:
        wix = Client(app, rsa_key)
        assert get(wix) == [collection("alpha", [ID]), collection("beta", [ID])]
        assert get(wix, ["gamma", "beta"]) == [collection("beta", [ID])]
        assert wix.items("alpha") == [{"_id": "a"}]
        status, body = wix.query("gamma")
        assert status == 404, body
        assert body["errorCode"] == "COLLECTION_NOT_FOUND"
        assert body["data"] == {"collectionId": "gamma"}
    finally:
        app.extensions["connector.engine"].dispose()
