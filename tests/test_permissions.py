"""Collection permissions enforced per caller (``CONNECTOR_ENFORCE_PERMISSIONS``),
on every backend.

The caller comes from ``metadata.identity`` of the signed token: an anonymous
visitor is ANYONE, a member SITE_MEMBER, a Wix user or app ADMIN (and so is a
direct caller with the API key). A refusal is a 403 ``PERMISSION_DENIED`` that
changes nothing.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from conftest import Client

from connector import create_app

VISITOR = {"identityType": "ANONYMOUS_VISITOR", "anonymousVisitorId": "v-1"}
ALICE = {"identityType": "MEMBER", "memberId": "alice"}
BOB = {"identityType": "MEMBER", "memberId": "bob"}
WIX_USER = {"identityType": "WIX_USER", "wixUserId": "owner-1"}
APP = {"identityType": "APP", "appId": "app-1"}

POSTS = {  # members post and change their own posts; everyone reads them
    "insert": "SITE_MEMBER",
    "update": "SITE_MEMBER_AUTHOR",
    "remove": "SITE_MEMBER_AUTHOR",
    "read": "ANYONE",
}
DIARIES = {**POSTS, "read": "SITE_MEMBER_AUTHOR"}  # members read their own only


def meta(identity):
    return {"requestId": str(uuid.uuid4()), "instanceId": "instance-1", "identity": identity}


@pytest.fixture
def enforced(app_config):
    application = create_app({**app_config, "CONNECTOR_ENFORCE_PERMISSIONS": True})
    yield application
    application.extensions["connector.engine"].dispose()


class As:
    """A Wix client that signs every request with one identity."""

    def __init__(self, app, key, identity):
        self.client = Client(app, key)
        self.identity = identity

    def post(self, path, request):
        return self.client.post(path, request, metadata=meta(self.identity))

    def insert(self, collection_id, *items):
        return self.post("/v3/items/insert", {"collectionId": collection_id, "items": list(items)})

    def update(self, collection_id, *items):
        return self.post("/v3/items/update", {"collectionId": collection_id, "items": list(items)})

    def remove(self, collection_id, *ids):
        return self.post("/v3/items/remove", {"collectionId": collection_id, "itemIds": list(ids)})

    def query(self, collection_id, query=None):
        return self.post("/v3/items/query", {"collectionId": collection_id, "query": query or {}})


@pytest.fixture
def who(enforced, rsa_key):
    return {
        name: As(enforced, rsa_key, identity)
        for name, identity in {
            "visitor": VISITOR,
            "alice": ALICE,
            "bob": BOB,
            "wix_user": WIX_USER,
            "app": APP,
            "nameless_member": {"identityType": "MEMBER"},
            "no_identity": None,
        }.items()
    }


def make_collection(admin, collection_id, permissions):
    status, body = admin.post(
        "/v3/collections/create",
        {
            "collection": {
                "id": collection_id,
                "fields": [{"key": "title", "type": "TEXT"}],
                "permissions": permissions,
            }
        },
    )
    assert status == 200, body
    assert body["collection"]["permissions"] == permissions


def rows(engine, table):
    with engine.connect() as conn:
        t = sa.Table(table, sa.MetaData(), autoload_with=conn)
        result = conn.execute(sa.select(t.c._id, t.c.title, t.c._owner).order_by(t.c._id))
        return [tuple(r) for r in result]


def assert_denied(status, body, **data):
    assert status == 403, body
    assert body["errorCode"] == "PERMISSION_DENIED", body
    assert body["errorMessage"], body
    for key, value in data.items():
        assert body["data"][key] == value, body


def results(status, body):
    assert status == 200, body
    return body["results"]


@pytest.fixture
def posts(who, engine):
    """A posts collection holding one post of alice's and one of bob's."""
    make_collection(who["wix_user"], "posts", POSTS)
    assert "error" not in results(*who["alice"].insert("posts", {"_id": "a1", "title": "A"}))[0]
    assert "error" not in results(*who["bob"].insert("posts", {"_id": "b1", "title": "B"}))[0]
    assert rows(engine, "posts") == [("a1", "A", "alice"), ("b1", "B", "bob")]
    return "posts"


# --- not enforced: every signed caller is trusted as before ----------------------


def test_without_the_setting_permissions_are_reported_but_not_checked(app, rsa_key, engine):
    admin, visitor = As(app, rsa_key, WIX_USER), As(app, rsa_key, VISITOR)
    make_collection(admin, "posts", POSTS)
    (result,) = results(*visitor.insert("posts", {"_id": "v", "title": "V", "_owner": "x"}))
    assert result["item"]["_owner"] == "x"
    assert rows(engine, "posts") == [("v", "V", "x")]


# --- members, visitors and admins -----------------------------------------------


def test_a_member_inserts_items_owned_by_that_member(posts, who, engine):
    (result,) = results(*who["alice"].insert("posts", {"_id": "a2", "title": "A2"}))
    assert result["item"]["_owner"] == "alice"
    assert rows(engine, "posts")[1] == ("a2", "A2", "alice")


def test_a_member_may_not_insert_in_another_member_s_name(posts, who, engine):
    before = rows(engine, "posts")
    status, body = who["alice"].insert(
        "posts", {"_id": "a2", "title": "ok"}, {"_id": "x", "title": "X", "_owner": "bob"}
    )
    assert_denied(status, body, collectionId="posts")
    assert rows(engine, "posts") == before


@pytest.mark.parametrize("caller", ["visitor", "no_identity", "nameless_member"])
def test_visitors_may_read_but_not_insert_where_members_insert(posts, who, engine, caller):
    status, body = who[caller].query("posts")
    assert status == 200, body
    assert [i["_id"] for i in body["items"]] == ["a1", "b1"]
    status, body = who[caller].insert("posts", {"_id": "v", "title": "V"})
    assert_denied(
        status, body, collectionId="posts", operation="insert", requiredRole="SITE_MEMBER"
    )
    assert [r[0] for r in rows(engine, "posts")] == ["a1", "b1"]


def test_an_author_updates_and_removes_only_own_items(posts, who, engine):
    (updated,) = results(*who["alice"].update("posts", {"_id": "a1", "title": "A!"}))
    assert updated["item"]["title"] == "A!" and updated["item"]["_owner"] == "alice"

    # One item of someone else's refuses the whole batch: nothing changes.
    status, body = who["alice"].update(
        "posts", {"_id": "a1", "title": "again"}, {"_id": "b1", "title": "stolen"}
    )
    assert_denied(status, body, collectionId="posts", itemId="b1")
    status, body = who["alice"].remove("posts", "a1", "b1")
    assert_denied(status, body, collectionId="posts", itemId="b1")
    # Nor may an author give an item away.
    status, body = who["alice"].update("posts", {"_id": "a1", "title": "A", "_owner": "bob"})
    assert_denied(status, body, collectionId="posts")
    assert rows(engine, "posts") == [("a1", "A!", "alice"), ("b1", "B", "bob")]

    (removed,) = results(*who["alice"].remove("posts", "a1"))
    assert removed["item"]["_id"] == "a1"
    assert rows(engine, "posts") == [("b1", "B", "bob")]


def test_a_missing_item_is_still_not_found_for_an_author(posts, who):
    (result,) = results(*who["alice"].update("posts", {"_id": "nope", "title": "?"}))
    assert result["error"]["errorCode"] == "ITEM_NOT_FOUND"


def test_a_member_may_not_truncate_a_collection_of_many_authors(posts, who, engine):
    status, body = who["alice"].post("/v3/items/truncate", {"collectionId": "posts"})
    assert_denied(status, body, collectionId="posts")
    assert len(rows(engine, "posts")) == 2


@pytest.mark.parametrize("caller", ["wix_user", "app"])
def test_admins_may_do_everything(posts, who, engine, caller):
    admin = who[caller]
    assert "error" not in results(*admin.update("posts", {"_id": "b1", "title": "edited"}))[0]
    assert (
        "error"
        not in results(*admin.insert("posts", {"_id": "c", "title": "C", "_owner": "carol"}))[0]
    )
    assert rows(engine, "posts") == [
        ("a1", "A", "alice"),
        ("b1", "edited", "bob"),
        ("c", "C", "carol"),
    ]
    status, body = admin.post("/v3/items/truncate", {"collectionId": "posts"})
    assert status == 200, body
    assert rows(engine, "posts") == []


def test_a_direct_caller_with_the_api_key_is_an_admin(posts, enforced, engine):
    api = Client(enforced)
    status, body = api.post("/v3/items/remove", {"collectionId": "posts", "itemIds": ["b1"]})
    assert status == 200, body
    assert rows(engine, "posts") == [("a1", "A", "alice")]


# --- reads an author may see only part of ------------------------------------------


@pytest.fixture
def diaries(who):
    make_collection(who["wix_user"], "diaries", DIARIES)
    for name in ("alice", "bob"):
        items = [{"_id": f"{name}-{i}", "title": f"{name} {i}"} for i in range(3)]
        assert all("item" in r for r in results(*who[name].insert("diaries", *items)))
    return "diaries"


def test_an_author_reads_counts_and_aggregates_only_own_items(diaries, who):
    alice = who["alice"]
    status, body = alice.query("diaries", {"sort": [{"fieldName": "_id"}]})
    assert status == 200, body
    assert [i["_id"] for i in body["items"]] == ["alice-0", "alice-1", "alice-2"]
    # A filter cannot reach past the scope, nor can the follow-up cursor pages.
    status, body = alice.query(
        "diaries", {"filter": {"$or": [{"_owner": "bob"}, {"_id": "bob-1"}]}}
    )
    assert (status, body["items"]) == (200, []), body
    status, body = alice.query("diaries", {"cursorPaging": {"limit": 2}})
    seen = [i["_id"] for i in body["items"]]
    cursor = body["pagingMetadata"]["cursors"]["next"]
    status, body = alice.query("diaries", {"cursorPaging": {"limit": 2, "cursor": cursor}})
    assert status == 200, body
    assert sorted(seen + [i["_id"] for i in body["items"]]) == ["alice-0", "alice-1", "alice-2"]

    status, body = alice.post("/v3/items/count", {"collectionId": "diaries"})
    assert (status, body) == (200, {"totalCount": 3})
    status, body = alice.post(
        "/v3/items/query-distinct-values", {"collectionId": "diaries", "fieldName": "_owner"}
    )
    assert status == 200 and body["distinctValues"] == ["alice"], body
    status, body = alice.post(
        "/v3/items/aggregate",
        {
            "collectionId": "diaries",
            "aggregation": {"operations": [{"resultFieldName": "n", "itemCount": {}}]},
        },
    )
    assert status == 200 and body["items"] == [{"n": 3}], body


def test_an_admin_reads_every_diary_and_a_visitor_none(diaries, who):
    status, body = who["wix_user"].post("/v3/items/count", {"collectionId": "diaries"})
    assert (status, body) == (200, {"totalCount": 6})
    status, body = who["visitor"].query("diaries")
    assert_denied(status, body, collectionId="diaries", operation="read")


# --- admin-only collections and schema changes ---------------------------------------


def test_admin_only_collections_and_schema_changes_refuse_members(who, engine):
    make_collection(who["wix_user"], "secrets", {k: "ADMIN" for k in POSTS})
    alice = who["alice"]
    before = [i["name"] for i in sa.inspect(engine).get_indexes("secrets")]
    for status, body in [
        alice.query("secrets"),
        alice.insert("secrets", {"_id": "s", "title": "S"}),
        alice.post("/v3/collections/delete", {"collectionId": "secrets"}),
        alice.post(
            "/v3/collections/create",
            {"collection": {"id": "mine", "fields": [{"key": "t", "type": "TEXT"}]}},
        ),
        alice.post(
            "/v3/indexes/create",
            {"collectionId": "secrets", "index": {"name": "i", "fields": [{"path": "title"}]}},
        ),
    ]:
        assert_denied(status, body)
    assert rows(engine, "secrets") == []
    assert "mine" not in sa.inspect(engine).get_table_names()
    assert [i["name"] for i in sa.inspect(engine).get_indexes("secrets")] == before


# --- references reach other collections' items ------------------------------------------


@pytest.fixture
def boards(diaries, who):
    """Boards (readable by anyone) that reference diaries (each member's own)."""
    make_collection(who["wix_user"], "boards", {**POSTS, "insert": "ADMIN"})
    admin = who["wix_user"]
    status, body = admin.post(
        "/v3/collections/update",
        {
            "collection": {
                "id": "boards",
                "fields": [
                    {"key": "title", "type": "TEXT"},
                    {
                        "key": "diaries",
                        "type": "MULTI_REFERENCE",
                        "multiReferenceOptions": {
                            "referencedCollectionId": "diaries",
                            "referencedCollectionFieldKey": "boards",
                        },
                    },
                ],
                "permissions": {**POSTS, "insert": "ADMIN"},
            }
        },
    )
    assert status == 200, body
    assert "error" not in results(*admin.insert("boards", {"_id": "board", "title": "B"}))[0]
    status, body = admin.post(
        "/v3/items/insert-references",
        {
            "collectionId": "boards",
            "referringFieldKey": "diaries",
            "references": [
                {"referringItemId": "board", "referencedItemId": "alice-0"},
                {"referringItemId": "board", "referencedItemId": "bob-0"},
            ],
        },
    )
    assert status == 200, body
    return "boards"


def test_an_author_follows_references_only_from_own_items(boards, who):
    request = {
        "collectionId": "diaries",
        "referringFieldKey": "boards",
        "includeReferencedItems": False,
    }
    status, body = who["wix_user"].post("/v3/items/query-referenced", request)
    assert status == 200, body
    assert sorted(r["referringItemId"] for r in body["items"]) == ["alice-0", "bob-0"]
    status, body = who["alice"].post("/v3/items/query-referenced", request)
    assert status == 200, body
    assert [r["referringItemId"] for r in body["items"]] == ["alice-0"]


def test_items_of_an_author_only_collection_are_not_included_for_members(boards, who):
    query = {"includeReferencedItems": [{"fieldKey": "diaries"}]}
    status, body = who["wix_user"].post(
        "/v3/items/query", {"collectionId": "boards", "query": {}, **query}
    )
    assert status == 200, body
    assert sorted(d["_id"] for d in body["items"][0]["diaries"]) == ["alice-0", "bob-0"]
    status, body = who["alice"].post(
        "/v3/items/query", {"collectionId": "boards", "query": {}, **query}
    )
    assert_denied(status, body, collectionId="diaries")
    status, body = who["alice"].query("boards")  # without the include: allowed
    assert status == 200 and [b["_id"] for b in body["items"]] == ["board"], body
