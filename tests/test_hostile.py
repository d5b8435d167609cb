"""Hostile input (issue 7): names, ids, sort keys, cursors, ``$matches`` specs and
values holding quotes, backticks, semicolons, SQL comments, NUL bytes, unicode
tricks (RTL override, zero-width and combining characters, homoglyphs, astral
characters, noncharacters, lone surrogates) and 100 KB strings.

Each is either served literally (a value stored and read back exactly, a name
created and addressed exactly) or rejected with a 400 (404 for a collection that
does not exist) in the contract's error format: never a 500, a 503 or any other
status. A value is rejected only where it cannot be served: a lone surrogate
anywhere refuses the whole request up front (one exact 400), a NUL byte cannot
be PostgreSQL text (a 400, or an error item for a written item), a ``$matches``
spec holds at most 4096 characters, and a new name must fit the database's
limits and hold no line break nor begin or end with whitespace. After every
test every table and row of the database, the connector's own included, is as
it was (less what the test itself wrote and removed).

The strings are batched: each test sends every string of a group, collects what
went wrong (naming the string and the place) and fails once. Groups separate the
strings that are refused in their own ways (and so that a future known bug can
be a strict xfail on the backends it concerns, see ``KNOWN_BUGS``, while the
other backends still check the same strings). The tests of a backend share one
database and one app (see ``shared``), which every test leaves as it found it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import (
    API_KEY,
    APP_ID,
    BACKENDS,
    SECRET_KEY,
    SERVER_URLS,
    Client,
    _empty,
    _unreachable,
    create_table,
)
from sqlalchemy.dialects import mysql

from connector import create_app

# --- the strings ----------------------------------------------------------------

LONG = 100_000
#: (name, string, group). Groups: "plain", "newlines", "nul", "surrogates".
HOSTILE = [
    ("single-quote", "O'Brien'); DROP TABLE people; --", "plain"),
    ("double-quote", 'say "hi"; DROP TABLE "people"; --', "plain"),
    ("backtick", "`people`; DROP TABLE `people`; #", "plain"),
    ("or-true", "' OR '1'='1' --", "plain"),
    ("comments", "/* x */ -- y # z", "plain"),
    ("semicolons", ";;; SELECT 1; COMMIT;", "plain"),
    ("backslashes", "\\'\\\"\\\\\\0\\n\\%\\", "plain"),
    ("like-wildcards", "%_!%!_[a-z]*", "plain"),
    ("regex-meta", ".*+?^$()[]{}|\\/", "plain"),
    ("placeholders", "%s %(x)s {0} :name $1 ? @p", "plain"),
    ("json-operator", '{"$gt": ""}', "plain"),
    ("control", "\t\x1b[31m\x7f\x08\x01", "plain"),
    ("rtl-override", "\u202eevil\u202c.txt", "plain"),
    ("zero-width", "pe\u200bop\u200dle\ufeff", "plain"),
    ("combining", "Z\u0351\u0308\u0334a\u0301\u0327l\u030cg\u0316o", "plain"),
    ("homoglyph", "\u0440\u0435\u043e\u0440l\u0435", "plain"),  # Cyrillic "реорlе"
    ("astral", "\U0001f600\U0001f469\u200d\U0001f469\u200d\U0001f467 \U0001d54f", "plain"),
    ("noncharacters", "\ufffe\uffff\U0010ffff", "plain"),
    ("trailing-spaces", "Ada  ", "plain"),
    ("long-100kb", "x" * LONG, "plain"),
    ("long-quotes-100kb", "'\";`" * (LONG // 4), "plain"),
    ("empty", "", "plain"),
    ("newlines", "line1\r\nline2", "newlines"),
    ("nul", "a\x00b", "nul"),
    ("lone-high-surrogate", "\ud800", "surrogates"),
    ("lone-low-surrogate", "x\udfffy", "surrogates"),
]
GROUPS = ["plain", "newlines", "nul", "surrogates"]
NAMES = {value: name for name, value, _ in HOSTILE}


def group_strings(group: str) -> list[tuple[int, str, str]]:
    """(index, name, string) of the strings of ``group``."""
    return [(i, n, s) for i, (n, s, g) in enumerate(HOSTILE) if g == group]


def has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def storable(backend: str, text: str) -> bool:
    """Whether a text column of ``backend`` can hold ``text`` at all."""
    return not has_surrogate(text) and not (backend == "postgresql" and "\x00" in text)


def database_nameable(backend: str, name: str) -> bool:
    """Whether ``backend`` can name a table or column ``name`` at all (a table made
    elsewhere may be so named; the connector serves it)."""
    if not name or not storable(backend, name) or "\x00" in name:
        return False
    if backend == "postgresql":
        return len(name.encode()) <= 63
    if backend == "mariadb":  # 64 characters of the BMP, no trailing whitespace, no backtick
        return (
            len(name) <= 64
            and name == name.rstrip()
            and "`" not in name
            and all(ord(c) <= 0xFFFF for c in name)
        )
    return len(name.encode()) <= 9999 and not name.lower().startswith("sqlite_")


def edge_or_break(name: str) -> bool:
    """Whether ``name`` holds a line break or begins or ends with whitespace, which
    collections/create refuses on every backend (reflection and aliases lose them)."""
    return "\r" in name or "\n" in name or name != name.strip()


def nameable(backend: str, name: str) -> bool:
    """Whether collections/create can name a table or column ``name`` on ``backend``
    (else a 400 is right)."""
    return database_nameable(backend, name) and not edge_or_break(name)


# --- exact refusals -----------------------------------------------------------------

#: The answer to any request holding a lone surrogate, whatever else it holds.
SURROGATE = (
    400,
    {
        "errorCode": "BAD_REQUEST",
        "errorMessage": "The request holds text that is not valid Unicode (a lone surrogate).",
        "data": {},
    },
)
#: PostgreSQL text cannot hold NUL: a filter (or a key) with one is refused so.
DATABASE_REFUSED = (
    400,
    {
        "errorCode": "BAD_REQUEST",
        "errorMessage": "The database could not run this request.",
        "data": {},
    },
)
#: The result of an item written with a NUL in a text value, on PostgreSQL.
DOES_NOT_FIT = {
    "error": {
        "errorCode": "VALIDATION_ERROR",
        "errorMessage": "A value of the item does not fit its column.",
        "data": {
            "violations": [
                {
                    "fieldPath": "item",
                    "rejectedValue": None,
                    "message": "A value of the item does not fit its column.",
                }
            ]
        },
    }
}
MAX_MATCHES = 4096
EDGE_OR_BREAK = "Names cannot hold line breaks or begin or end with spaces."


def invalid(path: str, value, message: str) -> tuple[int, dict]:
    """A 400 VALIDATION_ERROR of one violation."""
    violation = {"fieldPath": path, "rejectedValue": value, "message": message}
    return 400, {
        "errorCode": "VALIDATION_ERROR",
        "errorMessage": f"{path}: {message}",
        "data": {"violations": [violation]},
    }


def too_long_matches(path: str, value) -> tuple[int, dict]:
    return invalid(path, value, f"A $matches spec may hold at most {MAX_MATCHES} characters.")


def name_refusal(backend: str, name: str, path: str) -> tuple[int, dict] | None:
    """The exact answer to a new collection id or field key ``name`` at ``path``,
    where the test knows it (None: a 200, or a 400 when not ``nameable``)."""
    if has_surrogate(name):
        return SURROGATE
    # Refused for that alone if it is otherwise a name the database can hold (MariaDB
    # cannot hold trailing whitespace either, which the connector refuses so too).
    if edge_or_break(name) and database_nameable(backend, name.rstrip()):
        return invalid(path, name, EDGE_OR_BREAK)
    return None


# --- known bugs -------------------------------------------------------------------

#: (test, group) -> {backend: reason}: a known connector bug, marked as a strict
#: xfail of that test, group and backend. None is known at present.
KNOWN_BUGS: dict[tuple[str, str], dict[str, str]] = {}


def known_bug(request, backend: str, test: str, group: str) -> None:
    reason = KNOWN_BUGS.get((test, group), {}).get(backend)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# --- checking answers -------------------------------------------------------------

ERROR_KEYS = {"errorCode", "errorMessage", "data"}


def short(value, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def contract_error(body) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == ERROR_KEYS
        and isinstance(body["errorCode"], str)
        and bool(body["errorCode"])
        and isinstance(body["errorMessage"], str)
        and bool(body["errorMessage"])
        and isinstance(body["data"], dict)
    )


class Report:
    """Collects what went wrong, so one run names every failing string and place."""

    def __init__(self):
        self.failures: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.failures.append(f"{where}: {message}")

    def check(self, where, response, expected=None, *, refusable=False):
        """``response`` must be a 200 whose body is ``expected`` (or for which
        ``expected(body)`` returns None), or, when ``refusable``, a 400 in the
        contract's error format. Returns the body of a 200, else None."""
        status, body = response
        if status == 200:
            problem = (
                expected(body)
                if callable(expected)
                else None
                if body == expected
                else f"200 {short(body)}, expected {short(expected)}"
            )
            if problem:
                self.fail(where, problem)
            return body
        if not (refusable and status == 400):
            self.fail(where, f"{status} {short(body)}")
        elif not contract_error(body):
            self.fail(where, f"{status} not in the contract's error format: {short(body)}")
        return None

    def expect(self, where, response, expected) -> None:
        """``response`` must be exactly ``expected`` (a (status, body) pair)."""
        if response != expected:
            self.fail(where, f"{response[0]} {short(response[1])}, expected {short(expected)}")

    def done(self) -> None:
        assert not self.failures, f"{len(self.failures)} failures:\n" + "\n".join(self.failures)


# --- the database under test --------------------------------------------------------

#: A text key compared by code point on MariaDB too (as collections the connector creates).
KEY = sa.String(64).with_variant(
    mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"), "mariadb", "mysql"
)
BIG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mariadb", "mysql")
#: Single-character values, for ``$matches`` anyOf specs.
CHARS = ["'", '"', "`", ";", "%", "_", "!", "\\", "]", "^", "-", "\u200b", "\u0301", "\U0001f600"]
BASE_ROWS = {"p-ada": "Ada", "p-bob": "bob", "p-null": None} | {
    f"c{i:02}": c for i, c in enumerate(CHARS)
}


def snapshot(engine) -> dict:
    """Every table and view of the database with all its rows (as sorted reprs)."""
    inspector = sa.inspect(engine)
    names = sorted(inspector.get_table_names()) + sorted(
        "view:" + v for v in inspector.get_view_names()
    )
    tables = {}
    with engine.connect() as conn:
        for name in names:
            if name.startswith("view:"):
                continue
            rows = conn.execute(sa.select(sa.text("*")).select_from(sa.table(name)))
            # The schema version moves with every schema change, by design.
            tables[name] = sorted(
                repr(tuple(row)) for row in rows if tuple(row)[:1] != ("schema_version",)
            )
    return {"names": names, "rows": tables}


class World:
    """The known tables and rows of a backend's database, and the snapshot of the
    whole database a test compares with when it ends."""

    def __init__(self, engine, backend):
        self.engine = engine
        self.backend = backend
        self.rows = dict(BASE_ROWS)
        for i, (_, text, _) in enumerate(HOSTILE):
            if storable(backend, text):
                self.rows[f"h{i:02}"] = text
        self.people = create_table(
            engine,
            "people",
            sa.Column("_id", KEY, primary_key=True),
            sa.Column("name", BIG_TEXT),
            sa.Column("n", sa.Integer),
            rows=self.people_rows(),
        )
        create_table(
            engine,
            "pets",
            sa.Column("_id", KEY, primary_key=True),
            sa.Column("owner", KEY),
            rows=[{"_id": "rex", "owner": "p-ada"}],
        )
        self.baseline = None
        self.before = None

    def people_rows(self) -> list[dict]:
        return [{"_id": k, "name": v, "n": 1} for k, v in self.rows.items()]

    def restore(self) -> None:
        """Undo what an earlier (failed) test left behind, so tests stay independent."""
        now = snapshot(self.engine)
        if now == self.baseline:
            return
        with self.engine.begin() as conn:
            for name in set(now["rows"]) - set(self.baseline["rows"]):
                sa.Table(name, sa.MetaData()).drop(conn)
            conn.execute(self.people.delete())
            conn.execute(self.people.insert(), self.people_rows())

    def freeze(self) -> None:
        self.before = snapshot(self.engine)

    def intact(self, report: Report) -> None:
        after = snapshot(self.engine)
        if after["names"] != self.before["names"]:
            report.fail(
                "database",
                f"tables changed: {short(self.before['names'])} -> {short(after['names'])}",
            )
        for name, rows in self.before["rows"].items():
            if after["rows"].get(name) != rows:
                report.fail("database", f"rows of {name!r} changed")

    def ids(self, predicate) -> list[str]:
        """The ids of the stored rows whose (non-null) name satisfies ``predicate``."""
        return sorted(k for k, v in self.rows.items() if v is not None and predicate(v))

    def stored(self, item_id):
        with self.engine.connect() as conn:
            table = self.people
            return conn.execute(sa.select(table.c.name).where(table.c._id == item_id)).all()


# One database and one app per backend for the whole module: these fixtures stand
# in for conftest's per-test ones (an empty database and a new app for each of the
# tests below would cost more than the tests). Each test still checks, at its end,
# that the database is exactly as it found it.


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request, server_databases, tmp_path_factory, public_pem):
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'test.sqlite3'}"
    else:
        server_url = server_databases[backend]
        if isinstance(server_url, Exception):
            _unreachable(backend, SERVER_URLS[backend], server_url)
        try:
            _empty(backend, server_url)
        except sa.exc.OperationalError as exc:
            _unreachable(backend, SERVER_URLS[backend], exc)
        url = server_url.render_as_string(hide_password=False)
    config = {
        "TESTING": True,
        "DATABASE_URL": url,
        "WIX_APP_ID": APP_ID,
        "WIX_PUBLIC_KEY": public_pem,
        "CONNECTOR_API_KEY": API_KEY,
        "CONNECTOR_SECRET_KEY": SECRET_KEY,
    }
    application = create_app(config)
    engine = sa.create_engine(url)
    world = World(engine, backend)
    assert Client(application).items("people", {"paging": {"limit": 1}})
    world.baseline = snapshot(engine)
    yield backend, url, config, application, engine, world
    application.extensions["connector.engine"].dispose()
    engine.dispose()


@pytest.fixture
def backend(shared):
    return shared[0]


@pytest.fixture
def database_url(shared):
    return shared[1]


@pytest.fixture
def app_config(shared):
    return dict(shared[2])


@pytest.fixture
def app(shared):
    return shared[3]


@pytest.fixture
def engine(shared):
    return shared[4]


@pytest.fixture
def world(shared):
    w = shared[5]
    w.restore()
    shared[3].extensions["connector.catalog"].forget_all()
    w.freeze()
    return w


def items_of(expected_ids):
    """A check that a query answered exactly the people ``expected_ids``, in order."""

    def check(body):
        got = [item["_id"] for item in body["items"]]
        if got != expected_ids:
            return f"ids {short(got)}, expected {short(expected_ids)}"
        return None

    return check


# --- collection ids -----------------------------------------------------------------


def lookalikes(engine) -> list[str]:
    """Names of real things, and names that look like them."""
    database = engine.url.database or "main"
    return [
        "PEOPLE",
        "People",
        "people ",
        " people",
        "people\x00",
        "people\n",
        "people;",
        "people--",
        "people/*",
        '"people"',
        "`people`",
        "'people'",
        "peop\u200ble",
        "\u0440eople",
        "\uff50\uff45\uff4f\uff50\uff4c\uff45",  # fullwidth
        "people\u0301",
        "public.people",
        "main.people",
        f"{database}.people",
        "people.pets",
        "_connector_settings",
        "_connector_fields",
        "_connector_alembic_version",
        "alembic_version",
        "sqlite_master",
        "sqlite_sequence",
        "information_schema.tables",
        "pg_catalog.pg_class",
        "pg_class",
        "mysql.user",
        "people; DROP TABLE pets",
    ]


def test_hostile_collection_ids_are_not_found(world, api, engine, backend):
    report = Report()
    ids = [s for _, s, _ in HOSTILE] + lookalikes(engine)
    for collection_id in ids:
        label = NAMES.get(collection_id) or repr(collection_id)
        not_found = {
            "errorCode": "COLLECTION_NOT_FOUND",
            "errorMessage": "The requested collection was not found.",
            "data": {"collectionId": collection_id},
        }
        calls = {
            "items/query": {"query": {}},
            "items/count": {},
            "items/insert": {"items": [{"_id": "zz", "name": "x"}]},
            "items/update": {"items": [{"_id": "p-ada", "name": "x"}]},
            "items/remove": {"itemIds": ["p-ada"]},
            "items/truncate": {},
            "collections/delete": {},
            "indexes/list": {},
        }
        # A lone surrogate is refused before the collection is looked up.
        surrogate = has_surrogate(collection_id)
        for path, extra in calls.items():
            response = api.post(f"/v3/{path}", {"collectionId": collection_id, **extra})
            if response != (SURROGATE if surrogate else (404, not_found)):
                report.fail(f"{label} in {path}", f"{response[0]} {short(response[1])}")
        # Would drop every column but the system ones, were it to reach a table.
        spec = {"id": collection_id, "fields": [{"key": "_id", "type": "TEXT"}]}
        response = api.post("/v3/collections/update", {"collection": spec})
        refused = response[0] == 400 and response[1].get("errorCode") == "VALIDATION_ERROR"
        if surrogate:
            report.expect(f"{label} in collections/update", response, SURROGATE)
        elif response != (404, not_found) and not (collection_id == "" and refused):
            report.fail(f"{label} in collections/update", f"{response[0]} {short(response[1])}")
        response = api.post("/v3/collections/get", {"collectionIds": [collection_id]})
        if response != (SURROGATE if surrogate else (200, {"collections": []})):
            report.fail(f"{label} in collections/get", f"{response[0]} {short(response[1])}")
    world.intact(report)
    report.done()


# --- field names, sort keys, projections --------------------------------------------


def unknown(path, key):
    return {
        "errorCode": "VALIDATION_ERROR",
        "errorMessage": f"{path}: Unknown field {key!r}.",
        "data": {"violations": [{"fieldPath": path, "rejectedValue": key, "message": ""}]},
    }


def test_hostile_field_names_are_unknown_fields(world, api):
    report = Report()
    for name, key, _ in HOSTILE:
        summed = {"operations": [{"resultFieldName": "s", "sum": {"itemFieldName": key}}]}
        calls = [
            ("filter", "items/query", {"query": {"filter": {key: "x"}}}, key),
            ("nested filter", "items/count", {"filter": {"$or": [{key: {"$exists": True}}]}}, key),
            ("sort", "items/query", {"query": {"sort": [{"fieldName": key}]}}, key),
            ("projection", "items/query", {"query": {"fields": ["name", key]}}, key),
            ("distinct", "items/query-distinct-values", {"fieldName": key}, "fieldName"),
            (
                "sum",
                "items/aggregate",
                {"aggregation": summed},
                "aggregation.operations[0].sum.itemFieldName",
            ),
        ]
        for place, path, extra, field_path in calls:
            status, body = api.post(f"/v3/{path}", {"collectionId": "people", **extra})
            where = f"{name} as {place}"
            if has_surrogate(key):
                report.expect(where, (status, body), SURROGATE)
                continue
            if status != 400 or not contract_error(body):
                report.fail(where, f"{status} {short(body)}")
                continue
            expected = unknown(field_path, key)
            violation = (body["data"].get("violations") or [{}])[0]
            got = {**body, "data": {"violations": [{**violation, "message": ""}]}}
            if got != expected or violation.get("message") != f"Unknown field {key!r}.":
                report.fail(where, f"400 {short(body)}")
        # Not a field, but in the places of words: a sort order, an operator, a spec type.
        matches = {"$matches": {"ignoreCase": False, "spec": [{"type": key, "value": "x"}]}}
        for place, query in (
            ("sort order", {"sort": [{"fieldName": "name", "order": key}]}),
            ("operator", {"filter": {"name": {"$" + key: "Ada"}}}),
            ("$matches spec type", {"filter": {"name": matches}}),
        ):
            status, body = api.query("people", query)
            if has_surrogate(key):
                report.expect(f"{name} as {place}", (status, body), SURROGATE)
            elif (
                not (status == 400 and contract_error(body))
                or body["errorCode"] != "VALIDATION_ERROR"
            ):
                report.fail(f"{name} as {place}", f"{status} {short(body)}")
    world.intact(report)
    report.done()


# --- cursors --------------------------------------------------------------------------

INVALID_CURSOR = "The cursor is not valid (it was changed or is from elsewhere)."
BASE64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_cursors_are_rejected(world, api, backend, group, request):
    known_bug(request, backend, "cursor", group)
    report = Report()
    status, body = api.query("people", {"cursorPaging": {"limit": 2}})
    assert status == 200, body
    real = body["pagingMetadata"]["cursors"]["next"]
    first_page = body
    for _, name, text in group_strings(group):
        candidates = {"alone": text, "spliced": real[:10] + text + real[10:]}
        if BASE64URL & set(text):  # junk alone after the signature: see the test below
            candidates["appended"] = real + text
        for how, cursor in candidates.items():
            if cursor == real:  # nothing spliced in
                continue
            response = api.query("people", {"cursorPaging": {"limit": 2, "cursor": cursor}})
            if cursor == "":  # no cursor: the first page
                report.check(f"{name} cursor {how}", response, first_page)
                continue
            expected = {
                "errorCode": "BAD_REQUEST",
                "errorMessage": INVALID_CURSOR,
                "data": {"cursor": cursor},
            }
            report.expect(
                f"{name} cursor {how}",
                response,
                SURROGATE if has_surrogate(cursor) else (400, expected),
            )
    world.intact(report)
    report.done()


def test_a_cursor_with_junk_after_its_signature_is_refused(world, api):
    """Characters outside a cursor's alphabet after its signature (which a lenient
    base64 reading would skip) make it a changed cursor, refused."""
    report = Report()
    status, body = api.query("people", {"cursorPaging": {"limit": 2}})
    assert status == 200, body
    real = body["pagingMetadata"]["cursors"]["next"]
    for name, text, _ in HOSTILE:
        if not text or BASE64URL & set(text):
            continue
        cursor = real + text
        expected = {
            "errorCode": "BAD_REQUEST",
            "errorMessage": INVALID_CURSOR,
            "data": {"cursor": cursor},
        }
        response = api.query("people", {"cursorPaging": {"limit": 2, "cursor": cursor}})
        report.expect(
            f"{name} after the signature",
            response,
            SURROGATE if has_surrogate(text) else (400, expected),
        )
    world.intact(report)
    report.done()


def test_cursor_pages_carry_hostile_filters_and_sort_keys_exactly(world, api, backend):
    """A cursor holds the filter and the sort-key values of the page it continues:
    hostile values (100 KB ones too) come back through it exactly."""
    report = Report()
    values = [s for _, s, _ in HOSTILE if storable(backend, s)]
    query = {
        "filter": {"name": {"$in": values}},
        "sort": [{"fieldName": "name", "order": "DESC"}],
        "fields": ["name"],
        "cursorPaging": {"limit": 3},
    }
    # Name descending by code point (the names are distinct), as every backend orders text.
    chosen = [(v, k) for k, v in world.rows.items() if v in values]
    expected = [k for _, k in sorted(chosen, reverse=True)]
    seen, pages, cursor = [], [], None
    for _ in range(len(values)):
        paging = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = {**query, "cursorPaging": paging} if not cursor else {"cursorPaging": paging}
        status, body = api.query("people", page)
        if status != 200:
            report.fail("cursor paging", f"{status} {short(body)}")
            break
        for item in body["items"]:
            if set(item) != {"_id", "name"} or item["name"] != world.rows[item["_id"]]:
                report.fail("cursor paging", f"item not exact: {short(item)}")
        seen += [item["_id"] for item in body["items"]]
        pages.append(body)
        cursor = body["pagingMetadata"]["cursors"].get("next")
        if cursor is None:
            break
    if seen != expected:
        report.fail("cursor paging", f"ids {short(seen)}, expected {short(expected)}")
    if len(pages) >= 2:  # back one page from the last
        back = pages[-1]["pagingMetadata"]["cursors"]["prev"]
        status, body = api.query("people", {"cursorPaging": {"limit": 3, "cursor": back}})
        if status != 200 or body["items"] != pages[-2]["items"]:
            report.fail("cursor paging back", f"{status} {short(body)}")
    world.intact(report)
    report.done()


# --- filter values and $matches specs -------------------------------------------------


def filter_cases(text: str):
    """(label, filter on ``name``, predicate on a stored value, kind) for ``text``."""
    low = text.lower()

    def spec(kind, ignore_case):
        return {"$matches": {"ignoreCase": ignore_case, "spec": [{"type": kind, "value": text}]}}

    return [
        ("shorthand", text, lambda v: v == text, "eq"),
        ("$eq", {"$eq": text}, lambda v: v == text, "eq"),
        ("$ne", {"$ne": text}, lambda v: v != text, "eq"),
        ("$in", {"$in": [text, "no such name"]}, lambda v: v == text, "eq"),
        ("$nin", {"$nin": [text]}, lambda v: v != text, "eq"),
        ("$hasSome", {"$hasSome": [text]}, lambda v: v == text, "eq"),
        ("$gte+$lte", {"$gte": text, "$lte": text}, lambda v: v == text, "eq"),
        ("$contains", {"$contains": text}, lambda v: low in v.lower(), "like"),
        ("$startsWith", {"$startsWith": text}, lambda v: v.lower().startswith(low), "like"),
        ("$endsWith", {"$endsWith": text}, lambda v: v.lower().endswith(low), "like"),
        ("$matches literal", spec("literal", False), lambda v: v == text, "regex"),
        (
            "$matches literal ignoreCase",
            spec("literal", True),
            lambda v: v.lower() == low,
            "iregex",
        ),
        ("$matches anyOf", spec("anyOf", False), lambda v: len(v) == 1 and v in text, "regex"),
        (
            "$matches anyOf ignoreCase",
            spec("anyOf", True),
            lambda v: len(v) == 1 and v.lower() in low,
            "iregex",
        ),
    ]


def filter_refusal(backend: str, text: str, condition) -> tuple[int, dict] | None:
    """The exact answer to the filter ``{"name": condition}`` on ``text`` where it
    cannot be served (None: it is served): a lone surrogate, a ``$matches`` spec
    past 4096 characters, a NUL byte in PostgreSQL text."""
    if has_surrogate(text):
        return SURROGATE
    matches = condition.get("$matches") if isinstance(condition, dict) else None
    if matches is not None and len(text) > MAX_MATCHES:
        return too_long_matches("name", matches)
    if backend == "postgresql" and "\x00" in text:
        return DATABASE_REFUSED
    return None


def refusable_filter(backend: str, text: str, kind: str) -> bool:
    """Where a 400 is also an acceptable answer for a filter that can be served:
    the database's own pattern limits (SQLite's LIKE patterns stop at 50,000 bytes)."""
    return kind == "like" and backend == "sqlite" and len(text.encode()) > 50_000


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_filter_values_match_literally(world, api, backend, group, request):
    known_bug(request, backend, "filter", group)
    report = Report()
    for i, name, text in group_strings(group):
        own = f"h{i:02}"
        for label, condition, predicate, kind in filter_cases(text):
            expected = world.ids(predicate)
            if label == "$ne" or label == "$nin":
                expected = sorted(expected + ["p-null"])
            response = api.query(
                "people",
                {"filter": {"name": condition}, "fields": ["_id"], "paging": {"limit": 1000}},
            )
            refusal = filter_refusal(backend, text, condition)
            if refusal:
                report.expect(f"{name} in {label}", response, refusal)
                continue
            report.check(
                f"{name} in {label}",
                response,
                items_of(expected),
                refusable=refusable_filter(backend, text, kind),
            )
        refusal = filter_refusal(backend, text, text)
        present = 1 if own in world.rows else 0
        aggregation = {
            "groupingFields": ["name"],
            "operations": [{"resultFieldName": "c", "itemCount": {}}],
        }
        others = {
            "count": (
                api.post("/v3/items/count", {"collectionId": "people", "filter": {"name": text}}),
                {"totalCount": present},
            ),
            "distinct filter": (
                api.post(
                    "/v3/items/query-distinct-values",
                    {
                        "collectionId": "people",
                        "fieldName": "name",
                        "filter": {"name": {"$eq": text}},
                    },
                ),
                {
                    "distinctValues": [text] * present,
                    "pagingMetadata": {"count": present, "offset": 0},
                },
            ),
            "aggregate filters": (
                api.post(
                    "/v3/items/aggregate",
                    {
                        "collectionId": "people",
                        "initialFilter": {"name": {"$in": [text, "Ada"]}},
                        "aggregation": aggregation,
                        "finalFilter": {"name": text},
                    },
                ),
                {
                    "items": [{"name": text, "c": 1}] * present,
                    "pagingMetadata": {"count": present, "offset": 0},
                },
            ),
        }
        for place, (response, expected) in others.items():
            if refusal:
                report.expect(f"{name} in {place}", response, refusal)
            else:
                report.check(f"{name} in {place}", response, expected)
    world.intact(report)
    report.done()


def test_a_100kb_case_insensitive_matches_spec_is_refused_promptly(
    world, engine, backend, app_config
):
    """A ``$matches`` spec past 4096 characters (in all its parts) is a prompt 400
    whatever the backend, before any database compiles it (PostgreSQL compiles a
    case-insensitive one in quadratic time); one of 4096 is served. Each runs under
    a 2 s statement timeout here, so a spec that reached the database would be a 503."""
    database = engine.url.database
    if backend == "postgresql":  # bound the server's work whatever the connector sets
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"ALTER DATABASE \"{database}\" SET statement_timeout = '3s'")
    app = create_app({**app_config, "CONNECTOR_STATEMENT_TIMEOUT_MS": 2000})
    report = Report()
    try:
        client = Client(app)
        text = "x" * LONG
        spec = {"ignoreCase": True, "spec": [{"type": "literal", "value": text}]}
        response = client.query("people", {"filter": {"name": {"$matches": spec}}})
        report.expect("100 KB ignoreCase $matches", response, too_long_matches("name", spec))
        # The limit counts every part: 4095 + 1 characters are served (no stored name
        # is 4095 x's and a y), 4095 + 2 are refused.
        parts = [{"type": "literal", "value": "X" * (MAX_MATCHES - 1)}]
        for extra, total in (("y", MAX_MATCHES), ("yz", MAX_MATCHES + 1)):
            spec = {"ignoreCase": True, "spec": [*parts, {"type": "anyOf", "value": extra}]}
            response = client.query("people", {"filter": {"name": {"$matches": spec}}})
            if total <= MAX_MATCHES:
                report.check(f"{total}-character $matches", response, items_of([]))
            else:
                report.expect(
                    f"{total}-character $matches", response, too_long_matches("name", spec)
                )
    finally:
        app.extensions["connector.engine"].dispose()
        if backend == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{database}" RESET statement_timeout')
    world.intact(report)
    report.done()


# --- writes: values and ids round-trip ------------------------------------------------


def item(item_id, name, n=None):
    return {"_id": item_id, "name": name, "n": n}


def is_item_error(result) -> bool:
    return set(result) == {"error"} and contract_error(result["error"])


def write_refusal(backend: str, text: str, *, key: bool = False):
    """How writing an item holding ``text`` (as its ``_id`` when ``key``) is refused,
    exactly, or None: a dict is the item's error result (the others of its batch
    unaffected), a (status, body) pair the answer to the whole request."""
    if has_surrogate(text):
        return SURROGATE
    if backend == "postgresql" and "\x00" in text:
        # A NUL in a key is refused by the database where the request looks items up.
        return DATABASE_REFUSED if key else DOES_NOT_FIT
    return None


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_values_and_ids_round_trip_through_writes(world, wix, backend, group, request):
    """Sent signed like Wix: the JWT path carries every string too."""
    known_bug(request, backend, "write", group)
    report = Report()

    def one(where, response, expected, *, possible=True, refusal=None):
        """A one-item result: ``expected`` when possible, else ``refusal`` exactly
        (see write_refusal) or, with none, an error item."""
        if isinstance(refusal, tuple):
            report.expect(where, response, refusal)
            return
        status, body = response
        if status == 200 and isinstance(body, dict) and len(body.get("results", [])) == 1:
            result = body["results"][0]
            if refusal is not None:
                if result != refusal:
                    report.fail(where, f"{short(result)}, expected {short(refusal)}")
            elif possible and result != {"item": expected}:
                report.fail(where, f"{short(result)}, expected {short(expected)}")
            elif not possible and not is_item_error(result):
                report.fail(where, f"succeeded though it cannot be stored: {short(result)}")
            return
        report.fail(where, f"{status} {short(body)}")

    strings = group_strings(group)
    for i, name, text in strings:
        ok = storable(backend, text)
        refusal = write_refusal(backend, text)
        item_id = f"w{i:02}"
        # A value: inserted, read back, updated, removed.
        one(
            f"{name} as inserted value",
            wix.post(
                "/v3/items/insert", {"collectionId": "people", "items": [item(item_id, text)]}
            ),
            item(item_id, text),
            refusal=refusal,
        )
        if ok:
            report.check(
                f"{name} read back",
                wix.query("people", {"filter": {"_id": item_id}}),
                {"items": [item(item_id, text)], "pagingMetadata": {"count": 1, "offset": 0}},
            )
            if world.stored(item_id) != [(text,)]:
                report.fail(f"{name} as inserted value", f"stored {short(world.stored(item_id))}")
            one(
                f"{name} as updated value",
                wix.post(
                    "/v3/items/update",
                    {"collectionId": "people", "items": [item(item_id, text + text[:1], 2)]},
                ),
                item(item_id, text + text[:1], 2),
            )
            if world.stored(item_id) != [(text + text[:1],)]:
                report.fail(f"{name} as updated value", f"stored {short(world.stored(item_id))}")
            one(
                f"{name} removed",
                wix.post("/v3/items/remove", {"collectionId": "people", "itemIds": [item_id]}),
                item(item_id, text + text[:1], 2),
            )
        else:
            if world.stored(item_id):
                report.fail(f"{name} as inserted value", "a refused item left a row")
            # Nor can it replace a stored value (world.intact checks the row is kept).
            one(
                f"{name} as updated value",
                wix.post(
                    "/v3/items/update", {"collectionId": "people", "items": [item("p-ada", text)]}
                ),
                None,
                refusal=refusal,
            )

        # An id: inserted, found by $eq, updated, removed. Ids fit the 64-character key.
        id_ok = ok and len(text) <= 64
        id_refusal = write_refusal(backend, text, key=True)
        one(
            f"{name} as inserted _id",
            wix.post("/v3/items/insert", {"collectionId": "people", "items": [item(text, "id")]}),
            item(text, "id"),
            possible=id_ok,
            refusal=id_refusal,
        )
        if id_ok:
            report.check(
                f"{name} as _id filter",
                wix.query("people", {"filter": {"_id": {"$eq": text}}}),
                {"items": [item(text, "id")], "pagingMetadata": {"count": 1, "offset": 0}},
            )
            one(
                f"{name} as updated _id",
                wix.post(
                    "/v3/items/update", {"collectionId": "people", "items": [item(text, "up")]}
                ),
                item(text, "up"),
            )
            one(
                f"{name} as removed _id",
                wix.post("/v3/items/remove", {"collectionId": "people", "itemIds": [text]}),
                item(text, "up"),
            )
        else:
            one(
                f"{name} as removed _id",
                wix.post("/v3/items/remove", {"collectionId": "people", "itemIds": [text]}),
                None,
                possible=False,
                refusal=id_refusal,
            )

    # One batch of all of them beside a plain item: each stored exactly or refused alone
    # (a lone surrogate refuses the whole request, and so stores none).
    batch = [item(f"b{i:02}", text) for i, _, text in strings] + [item("b-plain", "plain")]
    status, body = wix.post("/v3/items/insert", {"collectionId": "people", "items": batch})
    body = body or {}
    if any(has_surrogate(text) for _, _, text in strings):
        report.expect("batch insert", (status, body), SURROGATE)
    elif status != 200 or len(body.get("results", [])) != len(batch):
        report.fail("batch insert", f"{status} {short(body)}")
    else:
        for (i, name, text), result in zip(strings, body["results"], strict=False):
            expected = write_refusal(backend, text) or {"item": item(f"b{i:02}", text)}
            if result != expected:
                report.fail(
                    f"{name} in batch insert", f"{short(result)}, expected {short(expected)}"
                )
        if body["results"][-1] != {"item": item("b-plain", "plain")}:
            report.fail("plain item in batch insert", short(body["results"][-1]))
    stored_ids = [
        r["item"]["_id"] for r in body.get("results") or [] if isinstance(r, dict) and "item" in r
    ]
    if stored_ids:
        status, body = wix.post(
            "/v3/items/remove", {"collectionId": "people", "itemIds": stored_ids}
        )
        if status != 200 or not all("item" in r for r in body["results"]):
            report.fail("batch remove", f"{status} {short(body)}")
    world.intact(report)
    report.done()


# --- aggregation result names ------------------------------------------------------------


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_aggregation_result_names_are_served_literally(world, api, backend, group, request):
    """A result name is only a key of the answer (never an SQL alias): any string
    but the empty one is served exactly, in the answer, in finalFilter and in sort,
    on every backend (NUL, leading whitespace, astral characters, 100 KB names)."""
    known_bug(request, backend, "aggregate", group)
    report = Report()
    for _, name, text in group_strings(group):
        request_body = {
            "collectionId": "people",
            "initialFilter": {"_id": "p-ada"},
            "aggregation": {
                "groupingFields": ["name"],
                "operations": [{"resultFieldName": text, "itemCount": {}}],
            },
            "finalFilter": {text: {"$gte": 1}} if text else None,
            "sort": [{"fieldName": text, "order": "DESC"}] if text else None,
        }
        response = api.post("/v3/items/aggregate", request_body)
        if has_surrogate(text):
            report.expect(f"{name} as resultFieldName", response, SURROGATE)
            continue
        if text == "":  # the contract needs a name
            status, body = response
            if status != 400 or not contract_error(body) or body["errorCode"] != "VALIDATION_ERROR":
                report.fail(f"{name} as resultFieldName", f"{status} {short(body)}")
            continue
        report.check(
            f"{name} as resultFieldName",
            response,
            {"items": [{"name": "Ada", text: 1}], "pagingMetadata": {"count": 1, "offset": 0}},
        )
    world.intact(report)
    report.done()


# --- collections/create: ids and field keys ---------------------------------------------


def field_keys(collection) -> list[str]:
    return [f["key"] for f in collection["fields"]]


def refused_name(report, where, backend, name, path, response) -> None:
    """``response`` refuses the new name ``name`` (at ``path``) as it must."""
    status, body = response
    exact = name_refusal(backend, name, path)
    if exact:
        report.expect(where, response, exact)
    elif nameable(backend, name) or status != 400 or not contract_error(body):
        report.fail(where, f"{status} {short(body)}")


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_collection_ids_are_created_literally_or_refused(
    world, api, backend, group, request
):
    known_bug(request, backend, "create-id", group)
    report = Report()
    for _, name, text in group_strings(group):
        spec = {"id": text, "fields": [{"key": "t", "type": "TEXT"}]}
        status, body = api.post("/v3/collections/create", {"collection": spec})
        where = f"{name} as a new collection id"
        if status != 200:
            refused_name(report, where, backend, text, "collection.id", (status, body))
            response = api.post("/v3/collections/get", {"collectionIds": [text]})
            listed = SURROGATE if has_surrogate(text) else (200, {"collections": []})
            if response != listed:
                report.fail(where, f"a refused collection is listed: {short(response)}")
            continue
        collection = body["collection"]
        if collection["id"] != text or collection["displayName"] != text:
            report.fail(where, f"answered as {short(collection['id'])}")
        if field_keys(collection) != ["_id", "t", "_createdDate", "_updatedDate", "_owner"]:
            report.fail(where, f"fields {field_keys(collection)}")
        status, got = api.post("/v3/collections/get", {"collectionIds": [text]})
        if status != 200 or [c["id"] for c in got["collections"]] != [text]:
            report.fail(where, f"collections/get: {status} {short(got)}")
        status, got = api.post("/v3/collections/get", {"collectionIds": []})
        if status != 200 or text not in [c["id"] for c in got["collections"]]:
            report.fail(where, f"not among all collections: {status}")
        status, got = api.post(
            "/v3/items/insert", {"collectionId": text, "items": [{"_id": "i", "t": text}]}
        )
        if status != 200 or got["results"][0].get("item", {}).get("t") != text:
            report.fail(where, f"insert: {status} {short(got)}")
        status, got = api.query(text, {"filter": {"t": text}, "fields": ["t"]})
        if (status, got.get("items")) != (200, [{"_id": "i", "t": text}]):
            report.fail(where, f"query: {status} {short(got)}")
        response = api.post("/v3/collections/delete", {"collectionId": text})
        if response != (200, {}):
            report.fail(where, f"delete: {short(response)}")
    world.intact(report)
    report.done()


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_field_keys_are_created_literally_or_refused(world, api, backend, group, request):
    """Each key as the field of a new collection, and a key refused so is refused
    as a field added by collections/update too."""
    known_bug(request, backend, "create-key", group)
    report = Report()
    host = None  # a collection to add refused keys to, made when first needed
    host_fields = [{"key": "_id", "type": "TEXT"}, {"key": "t", "type": "TEXT"}]
    for i, name, text in group_strings(group):
        collection_id = f"keyed{i:02}"
        spec = {
            "id": collection_id,
            "fields": [{"key": text, "type": "TEXT", "description": text}],
        }
        status, body = api.post("/v3/collections/create", {"collection": spec})
        where = f"{name} as a new field key"
        if status != 200:
            refused_name(report, where, backend, text, "collection.fields[0].key", (status, body))
            response = api.post("/v3/collections/get", {"collectionIds": [collection_id]})
            if response != (200, {"collections": []}):
                report.fail(where, f"a refused collection is listed: {short(response)}")
            if host is None:
                status, got = api.post(
                    "/v3/collections/create", {"collection": {"id": "host", "fields": host_fields}}
                )
                if status != 200:
                    report.fail("host collection", f"{status} {short(got)}")
                    continue
                host = field_keys(got["collection"])
            added = {"id": "host", "fields": [*host_fields, {"key": text, "type": "TEXT"}]}
            response = api.post("/v3/collections/update", {"collection": added})
            where = f"{name} as a field added by collections/update"
            refused_name(report, where, backend, text, "collection.fields[2].key", response)
            status, got = api.post("/v3/collections/get", {"collectionIds": ["host"]})
            if status != 200 or [field_keys(c) for c in got["collections"]] != [host]:
                report.fail(where, f"the collection changed: {status} {short(got)}")
            continue
        keys = field_keys(body["collection"])
        if keys != ["_id", text, "_createdDate", "_updatedDate", "_owner"]:
            report.fail(where, f"fields {short(keys)}")
        described = [f for f in body["collection"]["fields"] if f["key"] == text]
        if described and described[0].get("description") != text:
            report.fail(where, f"description {short(described[0].get('description'))}")
        status, got = api.post(
            "/v3/items/insert", {"collectionId": collection_id, "items": [{"_id": "i", text: "v"}]}
        )
        if status != 200 or got["results"][0].get("item", {}).get(text) != "v":
            report.fail(where, f"insert: {status} {short(got)}")
        query = {"filter": {text: "v"}, "sort": [{"fieldName": text}], "fields": [text]}
        status, got = api.query(collection_id, query)
        if (status, got.get("items")) != (200, [{"_id": "i", text: "v"}]):
            report.fail(where, f"query: {status} {short(got)}")
        response = api.post("/v3/collections/delete", {"collectionId": collection_id})
        if response != (200, {}):
            report.fail(where, f"delete: {short(response)}")
    if host is not None:
        response = api.post("/v3/collections/delete", {"collectionId": "host"})
        if response != (200, {}):
            report.fail("host collection", f"delete: {short(response)}")
    world.intact(report)
    report.done()


# --- a table made elsewhere, named and keyed with hostile strings ------------------------


def test_a_hostile_table_made_elsewhere_is_served_literally(world, api, engine, backend):
    """Every hostile name a backend can hold, as a table and as its columns, in
    every SQL position: WHERE, ORDER BY, SELECT, GROUP BY, aggregates, writes. Names
    collections/create refuses (line breaks, whitespace at an end) are served too."""
    report = Report()
    table_name = "Robert'); DROP TABLE people;--"
    # MariaDB: SQLAlchemy's SHOW CREATE TABLE parser skips a column named with a newline.
    columns = [
        s
        for _, s, _ in HOSTILE
        if database_nameable(backend, s)
        and s not in ("_id",)
        and not (backend == "mariadb" and "\n" in s)
    ]
    create_table(
        engine,
        table_name,
        sa.Column("_id", KEY, primary_key=True),
        *(sa.Column(c, BIG_TEXT) for c in columns),
        rows=[{"_id": "r1", **{c: c for c in columns}}],
    )
    row = {"_id": "r1", **{c: c for c in columns}}
    status, body = api.post("/v3/collections/get", {"collectionIds": [table_name]})
    if status != 200 or [c["id"] for c in body["collections"]] != [table_name]:
        report.fail("collections/get", f"{status} {short(body)}")
    elif field_keys(body["collections"][0]) != ["_id", *columns]:
        report.fail("collections/get", f"fields {short(field_keys(body['collections'][0]))}")
    report.check(
        "query",
        api.query(table_name),
        {"items": [row], "pagingMetadata": {"count": 1, "offset": 0}},
    )
    for column in columns:
        label = NAMES[column]
        query = {"filter": {column: column}, "sort": [{"fieldName": column}], "fields": [column]}
        report.check(
            f"{label} in filter, sort and projection",
            api.query(table_name, query),
            {"items": [{"_id": "r1", column: column}], "pagingMetadata": {"count": 1, "offset": 0}},
        )
        report.check(
            f"{label} in distinct",
            api.post(
                "/v3/items/query-distinct-values", {"collectionId": table_name, "fieldName": column}
            ),
            {"distinctValues": [column], "pagingMetadata": {"count": 1, "offset": 0}},
        )
        aggregation = {
            "groupingFields": [column],
            "operations": [{"resultFieldName": "most", "max": {"itemFieldName": column}}],
        }
        report.check(
            f"{label} in aggregate",
            api.post(
                "/v3/items/aggregate", {"collectionId": table_name, "aggregation": aggregation}
            ),
            {
                "items": [{column: column, "most": column}],
                "pagingMetadata": {"count": 1, "offset": 0},
            },
        )
    written = {"_id": "r2", **{c: c[::-1] for c in columns}}
    report.check(
        "insert",
        api.post("/v3/items/insert", {"collectionId": table_name, "items": [written]}),
        {"results": [{"item": written}]},
    )
    updated = {**written, **{c: c + "!" for c in columns}}
    report.check(
        "update",
        api.post("/v3/items/update", {"collectionId": table_name, "items": [updated]}),
        {"results": [{"item": updated}]},
    )
    report.check(
        "remove",
        api.post("/v3/items/remove", {"collectionId": table_name, "itemIds": ["r2"]}),
        {"results": [{"item": updated}]},
    )
    report.check(
        "query after",
        api.query(table_name),
        {"items": [row], "pagingMetadata": {"count": 1, "offset": 0}},
    )
    with engine.begin() as conn:
        conn.execute(sa.table(table_name).delete())  # the snapshot has no such table
        sa.Table(table_name, sa.MetaData(), autoload_with=conn).drop(conn)
    world.intact(report)
    report.done()


def test_a_field_key_with_leading_whitespace_can_be_grouped(world, api, engine, backend):
    """A column whose name starts with whitespace is served by query; aggregate
    serves it too, grouped by and as min/max (MariaDB strips leading whitespace
    from an alias, so aggregate must not alias the column by its name)."""
    report = Report()
    create_table(
        engine,
        "spaced",
        sa.Column("_id", KEY, primary_key=True),
        sa.Column(" lead", sa.Text),
        sa.Column("\ttab", sa.Text),
        rows=[{"_id": "r1", " lead": "a", "\ttab": "b"}],
    )
    try:
        for column, value in ((" lead", "a"), ("\ttab", "b")):
            report.check(
                f"{column!r} in query",
                api.query("spaced", {"filter": {column: value}, "fields": [column]}),
                {
                    "items": [{"_id": "r1", column: value}],
                    "pagingMetadata": {"count": 1, "offset": 0},
                },
            )
            aggregation = {
                "groupingFields": [column],
                "operations": [
                    {"resultFieldName": "n", "itemCount": {}},
                    {"resultFieldName": "least", "min": {"itemFieldName": column}},
                    {"resultFieldName": "most", "max": {"itemFieldName": column}},
                ],
            }
            report.check(
                f"{column!r} in aggregate",
                api.post(
                    "/v3/items/aggregate", {"collectionId": "spaced", "aggregation": aggregation}
                ),
                {
                    "items": [{column: value, "n": 1, "least": value, "most": value}],
                    "pagingMetadata": {"count": 1, "offset": 0},
                },
            )
    finally:
        with engine.begin() as conn:
            sa.Table("spaced", sa.MetaData()).drop(conn)
    world.intact(report)
    report.done()


# --- bodies that are not valid UTF-8 -----------------------------------------------------


NOT_UTF8 = {
    "overlong": b'{"collectionId": "\xc0\xafpeople"}',  # an overlong "/"
    "continuation": b'{"collectionId": "\x80people"}',  # a lone continuation byte
    "five-byte": b'{"collectionId": "\xf8\x88\x80\x80\x80"}',
    "beyond-max": b'{"collectionId": "\xf4\x90\x80\x80"}',  # past U+10FFFF
    "ff-in-value": b'{"collectionId": "people", "query": {"filter": {"name": "\xff"}}}',
    "truncated": b'{"collectionId": "people\xe2\x82"}',
}
#: A surrogate encoded as UTF-8 bytes (CESU-8): Python's json reads it as a lone
#: surrogate (surrogatepass), so it is the JSON escape ``\ud800`` by other means.
CESU_ID = b'{"collectionId": "\xed\xa0\x80"}'
CESU_VALUE = b'{"collectionId": "people", "query": {"filter": {"name": "\xed\xa0\x80"}}}'


def post_raw(app, raw: bytes):
    response = app.test_client().post(
        "/v3/items/query",
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    return response.status_code, response.get_json(silent=True)


def test_bodies_that_are_not_utf8_are_bad_requests(world, app):
    report = Report()
    for name, raw in NOT_UTF8.items():
        status, body = post_raw(app, raw)
        if status != 400 or not contract_error(body) or body["errorCode"] != "BAD_REQUEST":
            report.fail(name, f"{status} {short(body)}")
    # Refused as a lone surrogate, before the collection is looked up.
    report.expect("cesu surrogate as collection id", post_raw(app, CESU_ID), SURROGATE)
    world.intact(report)
    report.done()


def test_a_utf8_encoded_surrogate_in_a_filter_value_is_a_bad_request(world, app):
    assert post_raw(app, CESU_VALUE) == SURROGATE
