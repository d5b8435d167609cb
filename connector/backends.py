"""What differs between SQLite, PostgreSQL and MariaDB/MySQL, in one place.

Each backend builds the few expressions whose SQL is not portable: exact
(case-sensitive, code-point) text comparison, case-insensitive LIKE, regular
expressions, and JSON containment / element / path access. Every builder takes
and returns SQLAlchemy expressions; values are always bound.
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

LIKE_ESCAPE = "!"


def like_pattern(text: str, *, prefix: bool, suffix: bool) -> str:
    """A LIKE pattern matching ``text`` literally, with ``%`` on the chosen sides."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return ("%" if prefix else "") + escaped + ("%" if suffix else "")


def json_path_text(path: tuple[str, ...]) -> str:
    """A JSON path ("$.a.b") with every key quoted, for SQLite and MySQL."""
    return "$" + "".join("." + json.dumps(p) for p in path)


def json_text(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Backend:
    """Portable defaults; subclasses override what their SQL does differently."""

    name = "generic"

    #: The isolation level reads run at (None: the connection's default). Where
    #: switching to autocommit is free, a read skips its BEGIN and ROLLBACK.
    read_isolation: str | None = None

    def exact_text(self, expr, column=None):
        """``expr`` as compared and ordered by code point, case-sensitively."""
        return expr

    def text_equals(self, expr, value, column=None):
        return self.exact_text(expr, column) == value

    def text_in(self, expr, values, column=None):
        return self.exact_text(expr, column).in_(values)

    def ilike(self, expr, pattern: str, column=None):
        """Case-insensitive LIKE; ``pattern`` is already escaped with LIKE_ESCAPE."""
        return sa.func.lower(expr).like(pattern.lower(), escape=LIKE_ESCAPE)

    #: What ends a pattern at the very end of the text: "$" also matches before
    #: a final newline in Python's and PCRE's dialects.
    END = "$"

    def full_match(self, expr, pattern: str, ignore_case: bool, column=None):
        """``expr`` matches the regular expression ``pattern`` as a whole."""
        flags = "(?i)" if ignore_case else ""
        return self.regex(expr, f"{flags}^(?:{pattern}){self.END}", column)

    def regex(self, expr, pattern: str, column=None):
        return expr.regexp_match(pattern)

    # Every backend also builds these JSON expressions:
    # json_contains(expr, value): ``expr`` contains ``value`` as PostgreSQL's @> says.
    # json_array_has(expr, value): the array ``expr`` has an element equal to ``value``
    #     (type-exact: 1 is not "1").
    # json_path(expr, path, kind): the scalar at ``path`` when it is of ``kind``
    #     ("string", "number", "boolean"), else NULL; its JSON type for kind "type".
    # json_is_empty_array(expr)


class JsonWalk:
    """JSON containment and element tests built from per-backend primitives, for
    backends whose own operators are not type-exact (SQLite, MariaDB).

    Subclasses give ``_node_type(doc, path)``, ``_scalar(doc, path)`` (the scalar
    at ``path`` as SQL text/number), ``_elements(doc, path)`` (a table of an array's
    elements with columns ``type``, ``value`` (scalar) and ``json``), and
    ``_TYPE_NAMES``.
    """

    # _elements(doc, path) -> (from clause, type, scalar value, element JSON): kept
    # flat because MariaDB can't correlate a derived table inside EXISTS.

    def _scalar_match(self, type_expr, value_expr, value):
        names = self._TYPE_NAMES
        if value is None:
            return type_expr.in_(names["null"])
        if isinstance(value, bool):
            return sa.and_(
                type_expr.in_(names["boolean"]), value_expr == self._boolean_value(value)
            )
        if isinstance(value, (int, float)):
            return sa.and_(type_expr.in_(names["number"]), self._number(value_expr) == value)
        return sa.and_(type_expr.in_(names["string"]), self.exact_text(value_expr) == value)

    def _contains(self, doc, path: tuple, value):
        type_expr = self._node_type(doc, path)
        if isinstance(value, dict):
            return sa.and_(
                type_expr.in_(self._TYPE_NAMES["object"]),
                *(self._contains(doc, path + (k,), v) for k, v in value.items()),
            )
        if isinstance(value, list):
            return sa.and_(
                type_expr.in_(self._TYPE_NAMES["array"]),
                *(self._element(doc, path, v) for v in value),
            )
        return self._scalar_match(type_expr, self._scalar(doc, path), value)

    def _element(self, doc, path, value):
        source, type_expr, value_expr, json_expr = self._elements(doc, path)
        if isinstance(value, (dict, list)):
            cond = self._contains(json_expr, (), value)
        else:
            cond = self._scalar_match(type_expr, value_expr, value)
        return sa.exists(sa.select(sa.literal(1)).select_from(source).where(cond))

    def json_contains(self, expr, value):
        return self._contains(expr, (), value)

    def json_array_has(self, expr, value):
        return sa.and_(
            self._node_type(expr, ()).in_(self._TYPE_NAMES["array"]), self._element(expr, (), value)
        )


def _like_regex(pattern: str) -> str:
    """A Python regular expression (case-insensitive, whole text) for a LIKE
    ``pattern`` escaped with LIKE_ESCAPE."""
    out, chars = [], iter(pattern)
    for char in chars:
        if char == LIKE_ESCAPE:
            out.append(re.escape(next(chars, "")))
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return "(?is)\\A" + "".join(out) + "\\Z"


class SQLite(JsonWalk, Backend):
    name = "sqlite"
    END = r"\Z"  # Python's re

    def ilike(self, expr, pattern, column=None):
        if "\x00" in pattern:  # SQLite's LIKE ends a pattern at a NUL: match in Python
            return expr.op("REGEXP")(_like_regex(pattern))
        # connector_lower is Python's str.lower, registered per connection (db.py).
        return sa.func.connector_lower(expr).like(pattern.lower(), escape=LIKE_ESCAPE)

    def regex(self, expr, pattern, column=None):
        return expr.op("REGEXP")(pattern)  # the regexp() function registered in db.py

    _TYPE_NAMES = {
        "null": ("null",),
        "boolean": ("true", "false"),
        "number": ("integer", "real"),
        "string": ("text",),
        "object": ("object",),
        "array": ("array",),
    }

    def _node_type(self, doc, path):
        return sa.func.json_type(doc, json_path_text(path))

    def _scalar(self, doc, path):
        return sa.func.json_extract(doc, json_path_text(path))

    @staticmethod
    def _boolean_value(value):
        return 1 if value else 0

    @staticmethod
    def _number(expr):
        return expr

    def _elements(self, doc, path):
        each = sa.func.json_each(doc, json_path_text(path)).table_valued("value", "type").alias()
        # json_each's value is the scalar itself, or JSON text for objects and arrays.
        return each, each.c.type, each.c.value, each.c.value

    def json_path(self, expr, path, kind):
        type_expr = sa.func.json_type(expr, json_path_text(path))
        if kind == "type":
            return type_expr
        value = sa.func.json_extract(expr, json_path_text(path))
        return sa.case((type_expr.in_(self._TYPE_NAMES[kind]), value), else_=sa.null())

    def json_is_empty_array(self, expr):
        return sa.and_(sa.func.json_type(expr) == "array", sa.func.json_array_length(expr) == 0)


class PostgreSQL(Backend):
    name = "postgresql"
    # psycopg switches autocommit without a round trip; READ COMMITTED gives each
    # statement its own snapshot anyway, so a transaction around a read adds nothing.
    read_isolation = "AUTOCOMMIT"
    _TYPE_NAMES = {"string": ("string",), "number": ("number",), "boolean": ("boolean",)}

    def __init__(self, code_point_collation: bool):
        # Under a C/POSIX database collation text already orders by code point,
        # and adding COLLATE "C" would only keep indexes from being used.
        self.collate = not code_point_collation

    def exact_text(self, expr, column=None):
        return expr.collate("C") if self.collate else expr

    def text_equals(self, expr, value, column=None):
        return expr == value  # deterministic collations compare equal bytewise

    def text_in(self, expr, values, column=None):
        return expr.in_(values)

    def ilike(self, expr, pattern, column=None):
        return expr.ilike(pattern, escape=LIKE_ESCAPE)

    def regex(self, expr, pattern, column=None):
        return expr.op("~")(pattern)

    @staticmethod
    def _jsonb(expr):
        return sa.cast(expr, postgresql.JSONB)

    @staticmethod
    def _literal(value):
        return sa.cast(sa.literal(json_text(value), sa.Text), postgresql.JSONB)

    def json_contains(self, expr, value):
        # @> lets an array contain an object one of its elements contains; an
        # object filter only matches objects (and an array filter arrays).
        kind = "object" if isinstance(value, dict) else "array"
        return sa.and_(
            sa.func.jsonb_typeof(self._jsonb(expr)) == kind,
            self._jsonb(expr).op("@>")(self._literal(value)),
        )

    def json_array_has(self, expr, value):
        return sa.and_(
            sa.func.jsonb_typeof(self._jsonb(expr)) == "array",
            self._jsonb(expr).op("@>")(self._literal([value])),
        )

    def json_path(self, expr, path, kind):
        path_param = sa.literal(list(path), postgresql.ARRAY(sa.Text))
        node = self._jsonb(expr).op("#>", return_type=postgresql.JSONB)(path_param)
        type_expr = sa.func.jsonb_typeof(node)
        if kind == "type":
            return type_expr
        text = self._jsonb(expr).op("#>>", return_type=sa.Text)(path_param)
        value = {
            "string": text,
            "number": sa.cast(text, sa.Numeric),
            "boolean": sa.cast(text, sa.Boolean),
        }[kind]
        return sa.case((type_expr.in_(self._TYPE_NAMES[kind]), value), else_=sa.null())

    def json_is_empty_array(self, expr):
        return self._jsonb(expr) == self._literal([])


class MySQL(JsonWalk, Backend):
    name = "mysql"
    END = r"\z"  # PCRE

    def __init__(self, default_charset: str = "utf8mb4", *, mariadb: bool = True):
        self.default_charset = default_charset
        self.mariadb = mariadb

    def _binary_collation(self, column) -> str:
        charset = getattr(getattr(column, "type", None), "charset", None)
        if charset is None and column is not None and column.table is not None:
            charset = column.table.dialect_options["mysql"].get("default charset")
        charset = charset or self.default_charset
        # Plain *_bin collations ignore trailing spaces ("bob" = "bob "); these don't.
        if self.mariadb:
            return f"{charset}_nopad_bin"
        return "utf8mb4_0900_bin" if charset == "utf8mb4" else f"{charset}_bin"

    def exact_text(self, expr, column=None):
        return expr.collate(self._binary_collation(column))

    def text_equals(self, expr, value, column=None):
        # The plain comparison lets an index narrow rows; the binary one decides.
        return sa.and_(expr == value, self.exact_text(expr, column) == value)

    def text_in(self, expr, values, column=None):
        return sa.and_(expr.in_(values), self.exact_text(expr, column).in_(values))

    def ilike(self, expr, pattern, column=None):
        # Binary after lowering: the default collations also ignore accents.
        lowered = self.exact_text(sa.func.lower(expr), column)
        return lowered.like(pattern.lower(), escape=LIKE_ESCAPE)

    def regex(self, expr, pattern, column=None):
        return self.exact_text(expr, column).op("REGEXP")(pattern)

    _TYPE_NAMES = {
        "null": ("NULL",),
        "boolean": ("BOOLEAN",),
        "number": ("INTEGER", "DOUBLE", "DECIMAL", "UNSIGNED INTEGER"),
        "string": ("STRING",),
        "object": ("OBJECT",),
        "array": ("ARRAY",),
    }
    # Constant SQL: JSON_TABLE's COLUMNS clause has no SQLAlchemy construct.
    _ELEMENT_COLUMNS = sa.literal_column(
        "'$[*]' COLUMNS (json JSON PATH '$', value LONGTEXT PATH '$')"
    )

    def _node(self, doc, path):
        return sa.func.JSON_EXTRACT(doc, json_path_text(path)) if path else doc

    def _node_type(self, doc, path):
        return sa.func.JSON_TYPE(self._node(doc, path))

    def _scalar(self, doc, path):
        # Unquoted, so "\u00e9" and "é" compare equal (MariaDB compares JSON text raw).
        return sa.func.JSON_UNQUOTE(self._node(doc, path))

    @staticmethod
    def _boolean_value(value):
        return "true" if value else "false"

    @staticmethod
    def _number(expr):
        return sa.cast(expr, sa.Double)

    def _elements(self, doc, path):
        table = sa.func.JSON_TABLE(self._node(doc, path), self._ELEMENT_COLUMNS)
        each = table.table_valued("json", "value").alias()
        return each, sa.func.JSON_TYPE(each.c.json), each.c.value, each.c.json

    def json_path(self, expr, path, kind):
        node = sa.func.JSON_EXTRACT(expr, json_path_text(path))
        type_expr = sa.func.JSON_TYPE(node)
        if kind == "type":
            return type_expr
        if kind == "string":
            value = sa.func.JSON_UNQUOTE(node)
        elif kind == "number":
            value = sa.cast(sa.func.JSON_UNQUOTE(node), sa.Double)
        else:
            value = node == sa.literal_column("true")
        return sa.case((type_expr.in_(self._TYPE_NAMES[kind]), value), else_=sa.null())

    def json_is_empty_array(self, expr):
        return sa.and_(sa.func.JSON_TYPE(expr) == "ARRAY", sa.func.JSON_LENGTH(expr) == 0)


def for_connection(conn: Connection) -> Backend:
    """The backend of a live connection (asks the server what it needs to know)."""
    name = conn.dialect.name
    if name == "sqlite":
        return SQLite()
    if name == "postgresql":
        collation = conn.exec_driver_sql(
            "SELECT datcollate FROM pg_database WHERE datname = current_database()"
        ).scalar()
        return PostgreSQL(
            code_point_collation=(collation or "").upper().split(".")[0] in ("C", "POSIX")
        )
    if name in ("mysql", "mariadb"):
        charset = conn.exec_driver_sql("SELECT @@character_set_database").scalar()
        return MySQL(charset or "utf8mb4", mariadb=conn.dialect.is_mariadb)
    raise RuntimeError(f"Unsupported database backend: {name}")
