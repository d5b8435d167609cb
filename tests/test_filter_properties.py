"""Property tests: the filter compiler agrees with a plain-Python evaluator.

One fixed table ``things`` (about 40 rows from a fixed seed, full of deliberate
collisions: mixed case, accents, LIKE wildcards, nulls, 1 vs 1.0 vs true vs "1"
in JSON) is created once per backend. Hypothesis then draws random filters
from the same small pools of values, so that most filters select some rows,
and every filter must select, through /v3/items/query (and, for a sample,
/v3/items/count), exactly the rows :func:`matches` selects in Python.

:func:`matches` is the filter language of the contract written out in Python:
case-sensitive equality and code-point ordering for text, case-insensitive
$contains/$startsWith/$endsWith (``str.lower`` on both sides), null rules
($eq null, $ne/$nin matching nulls, comparisons with null matching nothing),
type-exact JSON array elements, PostgreSQL-style JSON containment, dotted
paths into JSON objects, and two-valued $not.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
import sqlalchemy as sa
from conftest import DATETIME, create_table, iso
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# --- the pools of values (shared by the rows and the filters) --------------------

NAMES = ["a", "A", "ab", "aB", "b", "Z", "é", "É", "a_b", "a%b", "a\\b", "a ", "a!b", "", None]
#: Names only filters use (near misses of the stored ones).
NAME_EXTRA = ["B", "z", "aa", "a\\", "é "]
#: Fragments for $contains/$startsWith/$endsWith (wildcards, escapes, case, accents).
FRAGMENTS = [
    "a",
    "A",
    "b",
    "B",
    "ab",
    "AB",
    "é",
    "É",
    "_",
    "%",
    "\\",
    "!",
    " ",
    "a_",
    "%b",
    "z",
    "",
]

NUMS = [0, 1, 2, -1, -5, 3, None]
NUM_EXTRA = [0.5, -0.5, 2.0, 4]
XS = [0.5, -1.25, 0.0, 2.0, 3.0, None]
X_EXTRA = [0, 2, -1, 1, 0.25]
FLAGS = [True, False, None]
WHENS = [
    dt.datetime(2021, 1, 2, 3, 4, 5, 678000),
    dt.datetime(2021, 1, 2, 3, 4, 5, 679000),
    dt.datetime(2020, 6, 15, 12, 0, 0),
    dt.datetime(2023, 12, 31, 23, 59, 59, 999000),
    dt.datetime(1999, 1, 1, 0, 0, 0, 1000),
    None,
]
WHEN_EXTRA = [dt.datetime(2021, 1, 2, 3, 4, 5, 677000), dt.datetime(2030, 1, 1)]

#: Values of ``doc.k`` (None: JSON null); some objects have no ``k`` at all.
DOC_KS = [0, 1, 2, -1, 1.5, 1.0, "a", "A", "b", "ab", "é", "É", "1", "", "a_b", True, False, None]
TAGS = ["a", "b", "é", 1, 2, True]
DOC_ARRAYS = [
    [],
    ["a"],
    ["a", "b"],
    [1, 2],
    [1.0],
    [True],
    ["1", "b"],
    [False, 0],
    ["A", 2, True],
    [[1, "b"], "c"],
    [{"k": 1}, "a"],
    ["é", "b"],
    [None],
]
#: Objects without ``k``, and no object at all.
DOC_OTHERS = [{"tags": ["a", "é", 1]}, None, {}]
#: Elements $hasSome/$hasAll look for (type-exact: true is not 1, "1" is not 1).
ELEMENTS = ["a", "b", "A", "c", "é", "É", "1", 1, 2, 1.0, 0, True, False]

# --- the table -------------------------------------------------------------------

ROW_COUNT = 40


def _pick(rng, pool, i):
    """Every value of ``pool`` once (rows 0..len-1, at different offsets), then at random."""
    return pool[i] if i < len(pool) else rng.choice(pool)


def _doc(rng, i):
    if i < len(DOC_ARRAYS):
        return DOC_ARRAYS[i]
    i -= len(DOC_ARRAYS)
    if i < len(DOC_KS):
        return {"k": DOC_KS[i], "tags": rng.sample(TAGS, rng.randint(0, 3))}
    i -= len(DOC_KS)
    if i < len(DOC_OTHERS):
        return DOC_OTHERS[i]
    r = rng.random()
    if r < 0.12:
        return None
    if r < 0.9:
        doc = {}
        if rng.random() < 0.85:
            doc["k"] = rng.choice(DOC_KS)
        if rng.random() < 0.8:
            doc["tags"] = rng.sample(TAGS, rng.randint(0, len(TAGS)))
        return doc
    return rng.choice(DOC_ARRAYS)


def make_rows() -> list[dict]:
    rng = random.Random(7)
    rows = []
    for i in range(ROW_COUNT):
        rows.append(
            {
                "_id": f"t{i:02d}",
                "name": _pick(rng, NAMES, i),
                "n": _pick(rng, NUMS, (i + 3) % ROW_COUNT),
                "x": _pick(rng, XS, (i + 5) % ROW_COUNT),
                "flag": _pick(rng, FLAGS, (i + 7) % ROW_COUNT),
                "when": _pick(rng, WHENS, (i + 11) % ROW_COUNT),
                "doc": _doc(rng, (i + 13) % ROW_COUNT),
            }
        )
    return rows


ROWS = make_rows()


@pytest.fixture
def things(engine):
    """The ``things`` table with ``ROWS`` (created once per test function, not per example).

    ``doc`` is written by SQLAlchemy's default ``json.dumps``, so "é" is stored as
    ``"\\u00e9"``, exactly as the connector's own inserts store it.
    """
    create_table(
        engine,
        "things",
        sa.Column("_id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(40)),
        sa.Column("n", sa.Integer),
        sa.Column("x", sa.Double),
        sa.Column("flag", sa.Boolean),
        sa.Column("when", DATETIME),
        sa.Column("doc", sa.JSON(none_as_null=True)),
        rows=ROWS,
    )
    return "things"


# --- the Python evaluator ------------------------------------------------------------

ABSENT = object()


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def json_equal(a, b) -> bool:
    """JSON equality, type-exact: true != 1, "1" != 1, but 1 == 1.0."""
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def json_contains(doc, value) -> bool:
    """PostgreSQL's ``doc @> value`` (without the top-level array-has-scalar case)."""
    if isinstance(value, dict):
        return isinstance(doc, dict) and all(
            k in doc and json_contains(doc[k], v) for k, v in value.items()
        )
    if isinstance(value, list):
        return isinstance(doc, list) and all(any(json_contains(d, v) for d in doc) for v in value)
    return not isinstance(doc, (dict, list)) and json_equal(doc, value)


def _decode(key, value):
    """A filter operand as the Python value of the column ``key``."""
    if key == "when" and isinstance(value, dict):
        return dt.datetime.fromisoformat(value["$date"].removesuffix("Z"))
    return value


def _operations(condition):
    if (
        isinstance(condition, dict)
        and condition
        and set(condition) != {"$date"}
        and all(k.startswith("$") for k in condition)
    ):
        return list(condition.items())
    return [("$eq", condition)]


def _scalar(field, op, v) -> bool:
    """A column value (operands already decoded) against one operator."""
    if op in ("$in", "$nin", "$hasSome", "$hasAll"):
        if op in ("$in", "$hasSome"):
            return any(_scalar_eq(field, x) for x in v)
        if op == "$nin":
            return not any(_scalar_eq(field, x) for x in v)
        return bool(v) and all(_scalar_eq(field, x) for x in v)
    if op == "$eq":
        return _scalar_eq(field, v)
    if op == "$ne":
        return not _scalar_eq(field, v)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if field is None or v is None:
            return False
        return {"$gt": field > v, "$gte": field >= v, "$lt": field < v, "$lte": field <= v}[op]
    if op in ("$contains", "$startsWith", "$endsWith"):
        return field is not None and _text_match(op, field, v)
    if op == "$exists":
        return (field is not None) == v
    if op == "$isEmpty":
        return (field is None or field == "") == v
    raise AssertionError(f"evaluator: unexpected operator {op}")


def _scalar_eq(field, v) -> bool:
    if v is None:
        return field is None
    return field is not None and field == v


def _text_match(op, text, fragment) -> bool:
    text, fragment = text.lower(), fragment.lower()
    if op == "$contains":
        return fragment in text
    if op == "$startsWith":
        return text.startswith(fragment)
    return text.endswith(fragment)


def _doc_op(doc, op, v) -> bool:
    """The JSON column ``doc`` against one operator."""
    if op == "$eq":
        return doc is None if v is None else doc is not None and json_contains(doc, v)
    if op == "$ne":
        return not _doc_op(doc, "$eq", v)
    if op == "$exists":
        return (doc is not None) == v
    if op == "$isEmpty":
        return (doc is None or doc == []) == v
    if op in ("$hasSome", "$hasAll"):
        if not isinstance(doc, list):
            return False
        found = [any(json_equal(e, x) for e in doc) for x in v]
        return any(found) if op == "$hasSome" else bool(found) and all(found)
    raise AssertionError(f"evaluator: unexpected operator {op} on doc")


def _at_path(doc, key):
    """The value at ``key`` of an object ``doc``; ABSENT when missing, null or not an object."""
    if isinstance(doc, dict) and doc.get(key) is not None:
        return doc[key]
    return ABSENT


def _path_op(doc, key, op, v) -> bool:
    """``doc.<key>`` against one operator."""
    value = _at_path(doc, key)
    if op == "$eq":
        return value is ABSENT if v is None else value is not ABSENT and json_equal(value, v)
    if op == "$ne":
        return not _path_op(doc, key, "$eq", v)
    if op == "$in":
        return any(_path_op(doc, key, "$eq", x) for x in v)
    if op == "$exists":
        return (value is not ABSENT) == v
    if op in ("$gt", "$gte", "$lt", "$lte"):
        same = (_is_number(value) and _is_number(v)) or (
            isinstance(value, str) and isinstance(v, str)
        )
        return same and _scalar(value, op, v)
    if op in ("$contains", "$startsWith", "$endsWith"):
        return isinstance(value, str) and _text_match(op, value, v)
    if op in ("$hasSome", "$hasAll"):
        return _doc_op(value if value is not ABSENT else None, op, v)
    raise AssertionError(f"evaluator: unexpected operator {op} on a path")


def _field(row, key, condition) -> bool:
    if key.startswith("doc."):
        return all(_path_op(row["doc"], key[4:], op, v) for op, v in _operations(condition))
    if key == "doc":
        return all(_doc_op(row["doc"], op, v) for op, v in _operations(condition))
    results = []
    for op, v in _operations(condition):
        v = [_decode(key, x) for x in v] if isinstance(v, list) else _decode(key, v)
        results.append(_scalar(row[key], op, v))
    return all(results)


def matches(row: dict, filter_: dict) -> bool:
    """Whether ``row`` satisfies ``filter_`` under the contract's semantics."""
    for key, value in filter_.items():
        if key == "$and":
            ok = all(matches(row, f) for f in value)
        elif key == "$or":
            ok = any(matches(row, f) for f in value)
        elif key == "$not":
            ok = not matches(row, value[0] if isinstance(value, list) else value)
        else:
            ok = _field(row, key, value)
        if not ok:
            return False
    return True


def expected_ids(filter_) -> list[str]:
    return sorted(row["_id"] for row in ROWS if matches(row, filter_))


# --- the filter strategy -------------------------------------------------------------


def _wire(value):
    return iso(value) if isinstance(value, dt.datetime) else value


def _scalar_conditions(values, *, ordered, text):
    """(operator, operand) pairs for a scalar field whose operands come from ``values``."""
    value = st.sampled_from(values).map(_wire)
    some = st.lists(value, max_size=3)
    ops = [
        st.tuples(st.just("$eq"), value),
        st.tuples(st.just("$ne"), value),
        st.tuples(st.just("$in"), some),
        st.tuples(st.just("$nin"), some),
        st.tuples(st.just("$hasSome"), some),
        st.tuples(st.just("$hasAll"), st.lists(value, max_size=2)),
        st.tuples(st.sampled_from(["$exists", "$isEmpty"]), st.booleans()),
    ]
    if ordered:
        ops.append(st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), value))
    if text:
        ops.append(
            st.tuples(
                st.sampled_from(["$contains", "$startsWith", "$endsWith"]),
                st.sampled_from(FRAGMENTS),
            )
        )
    return st.one_of(ops)


def _leaf(key, conditions, implicit):
    """``{key: value}`` (implicit $eq) or ``{key: {op: value, ...}}`` with 1-2 operators."""
    operator_object = st.lists(conditions, min_size=1, max_size=2, unique_by=lambda c: c[0]).map(
        dict
    )
    return st.one_of(implicit, operator_object).map(lambda condition: {key: condition})


def _scalar_leaf(key, values, *, ordered=True, text=False):
    conditions = _scalar_conditions(values, ordered=ordered, text=text)
    return _leaf(key, conditions, st.sampled_from(values).map(_wire))


_k_values = st.sampled_from([v for v in DOC_KS if v is not None] + ["B", 3, -2.5])
_k_ordered = st.sampled_from([0, 1, 2, -1, 1.5, 0.5, "a", "A", "b", "ab", "é", "1", "", "Z"])
_elements = st.lists(st.sampled_from(ELEMENTS), max_size=3)
#: Operands of {"doc": <object or array>} (containment, as PostgreSQL's @>).
_containment = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "k": st.one_of(st.none(), _k_values),
            "tags": st.lists(st.sampled_from(TAGS), max_size=2),
        },
    ),
    st.lists(st.sampled_from(ELEMENTS), max_size=2),
)

_doc_leaf = _leaf(
    "doc",
    st.one_of(
        st.tuples(st.sampled_from(["$hasSome", "$hasAll"]), _elements),
        st.tuples(st.sampled_from(["$exists", "$isEmpty"]), st.booleans()),
        st.tuples(st.sampled_from(["$eq", "$ne"]), st.one_of(st.none(), _containment)),
    ),
    st.one_of(st.none(), _containment),
)
_doc_k_leaf = _leaf(
    "doc.k",
    st.one_of(
        st.tuples(st.sampled_from(["$eq", "$ne"]), st.one_of(st.none(), _k_values)),
        st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), _k_ordered),
        st.tuples(st.just("$in"), st.lists(st.one_of(st.none(), _k_values), max_size=3)),
        st.tuples(
            st.sampled_from(["$contains", "$startsWith", "$endsWith"]), st.sampled_from(FRAGMENTS)
        ),
        st.tuples(st.just("$exists"), st.booleans()),
    ),
    st.one_of(st.none(), _k_values),
)
_doc_tags_leaf = _leaf(
    "doc.tags",
    st.one_of(
        st.tuples(st.sampled_from(["$hasSome", "$hasAll"]), _elements),
        st.tuples(st.just("$exists"), st.booleans()),
    ),
    st.nothing(),
)

LEAVES = st.one_of(
    _scalar_leaf("name", NAMES + NAME_EXTRA, text=True),
    _scalar_leaf("n", NUMS + NUM_EXTRA),
    _scalar_leaf("x", XS + X_EXTRA),
    _scalar_leaf("flag", FLAGS, ordered=False),
    _scalar_leaf("when", WHENS + WHEN_EXTRA),
    _doc_leaf,
    _doc_k_leaf,
    _doc_tags_leaf,
)


def _merge(filters):
    """Several keys in one object (AND); a repeated key keeps its last condition."""
    merged = {}
    for f in filters:
        merged.update(f)
    return merged


def _combine(children):
    some = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        some.map(lambda fs: {"$and": fs}),
        some.map(lambda fs: {"$or": fs}),
        children.map(lambda f: {"$not": f}),
        children.map(lambda f: {"$not": [f]}),
        st.lists(children, min_size=2, max_size=3).map(_merge),
    )


FILTERS = st.recursive(LEAVES, _combine, max_leaves=8)


# --- the property --------------------------------------------------------------------


def _row_view(ids):
    by_id = {row["_id"]: row for row in ROWS}
    return [
        {k: (str(v) if isinstance(v, dt.datetime) else v) for k, v in by_id[i].items()} for i in ids
    ]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(filter_=FILTERS, count=st.sampled_from([True, False, False, False]))
def test_filter_selects_what_python_selects(things, wix, filter_, count):
    """Random filters select exactly what :func:`matches` selects (and count agrees)."""
    expected = expected_ids(filter_)
    got = sorted(wix.ids(things, filter_))
    text = json.dumps(filter_, ensure_ascii=False)
    assert got == expected, (
        f"filter {text}: extra {_row_view(sorted(set(got) - set(expected)))}, "
        f"missing {_row_view(sorted(set(expected) - set(got)))}"
    )
    if count:
        status, body = wix.post("/v3/items/count", {"collectionId": things, "filter": filter_})
        assert (status, body) == (200, {"totalCount": len(expected)}), text


def test_rows_cover_the_pools():
    """The fixed rows hold every pool value (so the filters can tell values apart)."""
    assert {r["name"] for r in ROWS} == set(NAMES)
    assert {r["n"] for r in ROWS} == set(NUMS)
    assert {r["x"] for r in ROWS} == set(XS)
    assert {r["flag"] for r in ROWS} == set(FLAGS)
    assert {r["when"] for r in ROWS} == set(WHENS)
    docs = [r["doc"] for r in ROWS]
    assert all(a in docs for a in DOC_ARRAYS)
    assert None in docs
    assert any(isinstance(d, dict) and "k" not in d for d in docs)
    assert {json.dumps(d["k"]) for d in docs if isinstance(d, dict) and "k" in d} >= {
        "1",
        "1.0",
        "true",
        '"1"',
        "null",
    }


# --- pinned cases ---------------------------------------------------------------------

#: Filters checked on every run, whatever Hypothesis draws: the minimal forms of the
#: disagreements the property has found, and a few cases that must never regress.
PINNED = [
    # text: exact (trailing space, case), code-point order, LIKE wildcards taken literally
    {"name": "a"},
    {"name": "a "},
    {"name": {"$gt": "a"}},
    {"name": {"$lt": "a"}},
    {"name": {"$contains": "%"}},
    {"name": {"$contains": "_"}},
    {"name": {"$startsWith": "a\\"}},
    {"name": {"$endsWith": "É"}},
    {"name": {"$contains": "!"}},
    # nulls
    {"n": {"$nin": [3, None]}},
    {"$not": {"n": {"$gt": 0}}},
    {"when": {"$lte": {"$date": "2021-01-02T03:04:05.678Z"}}},
    # a list of operands that starts with an integer and also holds fractions
    {"x": {"$in": [0, 0.5]}},
    {"x": {"$hasSome": [2, -1.25]}},
    {"n": {"$in": [3, -0.5]}},
    {"n": {"$nin": [3, -0.5]}},
    # JSON arrays: elements only (not elements of nested arrays), type-exact
    {"doc": {"$hasSome": ["b"]}},
    {"doc": {"$hasSome": [1]}},
    {"doc": {"$hasAll": [1, "c"]}},
    {"doc": {"$hasSome": [True]}},
    {"doc": {"$hasSome": [1.0]}},
    {"doc": ["b"]},
    # JSON containment like PostgreSQL's @>: an object is never contained in an array
    {"doc": {"k": 1}},
    {"doc": {}},
    {"doc": {"$ne": {"k": 1}}},
    # non-ASCII strings inside JSON (stored \u-escaped by json.dumps)
    {"doc": {"k": "é"}},
    {"doc": {"tags": ["é"]}},
    {"doc": {"$hasSome": ["é"]}},
    {"doc.tags": {"$hasSome": ["é"]}},
    {"doc.k": "é"},
    # dotted paths: type-exact, absent = missing, null or not an object
    {"doc.k": True},
    {"doc.k": 1},
    {"doc.k": "1"},
    {"doc.k": {"$gt": 1}},
    {"doc.k": {"$lt": "b"}},
    {"doc.k": {"$ne": 1}},
    {"doc.k": {"$exists": False}},
    {"doc.k": {"$in": ["a", None]}},
]


def test_pinned_filters(things, wix):
    """Each of ``PINNED`` selects what :func:`matches` selects (all mismatches reported)."""
    wrong = {}
    for filter_ in PINNED:
        expected = expected_ids(filter_)
        status, body = wix.query(things, {"filter": filter_, "paging": {"limit": 1000}})
        got = sorted(item["_id"] for item in body["items"]) if status == 200 else (status, body)
        if got != expected:
            wrong[json.dumps(filter_, ensure_ascii=False)] = f"expected {expected}, got {got}"
    assert not wrong, "\n".join(f"{f}: {why}" for f, why in wrong.items())


def test_null_comparison_on_a_path_matches_nothing(things, wix):
    """ "Comparisons with null ($gt: null) match nothing" holds for dotted paths too."""
    got = {}
    for op in ("$gt", "$gte", "$lt", "$lte"):
        for filter_ in ({"doc.k": {op: None}}, {"$not": {"doc.k": {op: None}}}):
            status, body = wix.query(things, {"filter": filter_, "paging": {"limit": 1000}})
            ids = [item["_id"] for item in body["items"]] if status == 200 else body
            got[json.dumps(filter_)] = (status, ids)
    assert got == {
        json.dumps(filter_): (200, expected_ids(filter_))
        for op in ("$gt", "$gte", "$lt", "$lte")
        for filter_ in ({"doc.k": {op: None}}, {"$not": {"doc.k": {op: None}}})
    }


# --- the evaluator itself ---------------------------------------------------------------


def _row(**values):
    empty = {
        "_id": "r",
        "name": None,
        "n": None,
        "x": None,
        "flag": None,
        "when": None,
        "doc": None,
    }
    return empty | values


@pytest.mark.parametrize(
    ("row", "filter_", "expected"),
    [
        (_row(name="a "), {"name": "a"}, False),
        (_row(name="A"), {"name": "a"}, False),
        (_row(name="É"), {"name": {"$contains": "é"}}, True),
        (_row(name="a"), {"name": {"$gt": "Z"}}, True),
        (_row(name="é"), {"name": {"$gt": "z"}}, True),
        (_row(), {"name": {"$ne": "a"}}, True),
        (_row(), {"name": {"$nin": ["a"]}}, True),
        (_row(), {"name": {"$nin": ["a", None]}}, False),
        (_row(), {"name": {"$in": ["a", None]}}, True),
        (_row(), {"name": {"$contains": ""}}, False),
        (_row(), {"name": {"$isEmpty": True}}, True),
        (_row(name=""), {"name": {"$isEmpty": True}}, True),
        (_row(n=1), {"n": {"$gt": None}}, False),
        (_row(), {"n": {"$lt": 5}}, False),
        (_row(), {"$not": {"n": {"$lt": 5}}}, True),
        (_row(n=1), {"n": {"$hasAll": []}}, False),
        (_row(n=1), {"n": {"$hasAll": [1, 1.0]}}, True),
        (_row(n=1), {"n": {"$hasSome": [2, 1]}}, True),
        (_row(flag=False), {"flag": {"$in": [None, False]}}, True),
        (_row(when=dt.datetime(2021, 1, 2, 3, 4, 5, 678000)), {"when": iso(WHENS[0])}, True),
        (_row(doc=[[1, "b"], "c"]), {"doc": {"$hasSome": ["b"]}}, False),
        (_row(doc=[True]), {"doc": {"$hasSome": [1]}}, False),
        (_row(doc=[1.0]), {"doc": {"$hasSome": [1]}}, True),
        (_row(doc=["1"]), {"doc": {"$hasSome": [1]}}, False),
        (_row(doc={"tags": ["a"]}), {"doc": {"$hasSome": ["a"]}}, False),
        (_row(doc=["a", "b"]), {"doc": {"$hasAll": ["b", "a"]}}, True),
        (_row(doc=["a", "b"]), {"doc": {"$hasAll": []}}, False),
        (_row(doc=[{"k": 1}, "a"]), {"doc": {"k": 1}}, False),
        (_row(doc={"k": 1.0, "tags": []}), {"doc": {"k": 1}}, True),
        (_row(doc={"k": True}), {"doc": {"k": 1}}, False),
        (_row(doc=[]), {"doc": {}}, False),
        (_row(doc={}), {"doc": {}}, True),
        (_row(doc=[[1, "b"], "c"]), {"doc": ["b"]}, False),
        (_row(doc=["a", "b"]), {"doc": ["b"]}, True),
        (_row(doc={"tags": ["a", 1]}), {"doc": {"tags": [1]}}, True),
        (_row(doc={"k": None}), {"doc": {"k": None}}, True),
        (_row(doc=[]), {"doc": {"$isEmpty": True}}, True),
        (_row(doc={}), {"doc": {"$isEmpty": True}}, False),
        (_row(doc={"k": 1}), {"doc.k": True}, False),
        (_row(doc={"k": 1.0}), {"doc.k": 1}, True),
        (_row(doc={"k": "1"}), {"doc.k": {"$gt": 0}}, False),
        (_row(doc={"k": "b"}), {"doc.k": {"$gt": "B"}}, True),
        (_row(doc=[1]), {"doc.k": {"$ne": 1}}, True),
        (_row(doc={"k": None}), {"doc.k": None}, True),
        (_row(doc={"k": None}), {"doc.k": {"$exists": True}}, False),
        (_row(doc={"k": "É"}), {"doc.k": {"$startsWith": "é"}}, True),
        (_row(doc={"tags": "a"}), {"doc.tags": {"$hasSome": ["a"]}}, False),
        (_row(doc={"tags": ["a"]}), {"doc.tags": {"$hasSome": ["a"]}}, True),
        (_row(n=1), {"n": 1, "name": None, "$or": [{"x": 1}, {"flag": None}]}, True),
        (_row(n=1), {"$not": [{"$and": [{"n": 1}, {"name": "a"}]}]}, True),
    ],
)
def test_evaluator(row, filter_, expected):
    """The oracle itself follows the contract (no database involved)."""
    assert matches(row, filter_) is expected
