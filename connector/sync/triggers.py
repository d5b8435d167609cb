"""Capture triggers: every row change of a tracked collection, by the connector or
by any other program, bumps the collection's sequence and queues the document
in ``sync_pending`` in the writer's own transaction.

The DDL is generated here from the reflected table: identifiers are quoted and
values rendered as literals by SQLAlchemy's dialect, never pasted from input.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from .tables import sync_collections, sync_pending


def _literal(conn, value: str) -> str:
    return str(
        sa.literal(value, sa.String()).compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True}
        )
    )


def _run(conn, statement: str) -> None:
    # Sent as is: no parameters, so a '%' in a quoted name is only a character.
    conn.exec_driver_sql(statement, execution_options={"no_parameters": True})


PG_TRIGGER = "_connector_sync"  # PostgreSQL trigger names are per table


def _name(kind: str, collection_id: str) -> str:
    # Trigger names are per schema on MySQL and SQLite: one per collection and event.
    digest = hashlib.sha1(collection_id.encode()).hexdigest()[:16]
    return f"_connector_sync_{kind}_{digest}"


def install(conn, collection) -> None:
    """Create the collection's capture triggers (replacing any there were)."""
    drop(conn, collection)
    {"postgresql": _postgresql, "sqlite": _sqlite}.get(conn.dialect.name, _mysql)(conn, collection)


def drop(conn, collection) -> None:
    """Remove the collection's capture triggers, if it has them."""
    q = conn.dialect.identifier_preparer
    if conn.dialect.name == "postgresql":
        table = q.format_table(collection.table)
        _run(conn, f"DROP TRIGGER IF EXISTS {q.quote(PG_TRIGGER)} ON {table}")
        return
    for kind in ("insert", "update", "delete", "rekey"):
        _run(conn, f"DROP TRIGGER IF EXISTS {q.quote(_name(kind, collection.id))}")


def _postgresql(conn, collection) -> None:
    q = conn.dialect.identifier_preparer
    schema = q.quote(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
    counter = f"{schema}.{q.quote(sync_collections.name)}"
    pending = f"{schema}.{q.quote(sync_pending.name)}"
    function = f"{schema}._connector_sync_capture"
    # One function for every table: the collection id and key column are arguments.
    _run(
        conn,
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s bigint;
  old_id text;
  new_id text;
BEGIN
  IF TG_OP <> 'INSERT' THEN old_id := to_jsonb(OLD) ->> TG_ARGV[1]; END IF;
  IF TG_OP <> 'DELETE' THEN new_id := to_jsonb(NEW) ->> TG_ARGV[1]; END IF;
  IF old_id IS NOT NULL AND old_id IS DISTINCT FROM new_id THEN
    UPDATE {counter} SET last_seq = last_seq + 1
      WHERE collection_id = TG_ARGV[0] RETURNING last_seq INTO s;
    INSERT INTO {pending} (collection_id, seq, doc_id) VALUES (TG_ARGV[0], s, old_id);
  END IF;
  IF new_id IS NOT NULL THEN
    UPDATE {counter} SET last_seq = last_seq + 1
      WHERE collection_id = TG_ARGV[0] RETURNING last_seq INTO s;
    INSERT INTO {pending} (collection_id, seq, doc_id) VALUES (TG_ARGV[0], s, new_id);
  END IF;
  RETURN NULL;
END $$""",
    )
    table = q.format_table(collection.table)
    cid = _literal(conn, collection.id)
    key = _literal(conn, collection.id_field.column.name)
    _run(
        conn,
        f"CREATE TRIGGER {q.quote(PG_TRIGGER)} AFTER INSERT OR UPDATE OR DELETE"
        f" ON {table} FOR EACH ROW EXECUTE PROCEDURE {function}({cid}, {key})",
    )


def _statements(conn, collection, row: str, *, as_text: str) -> str:
    """The trigger body's two statements for one changed row (``NEW`` or ``OLD``)."""
    q = conn.dialect.identifier_preparer
    counter, pending = q.quote(sync_collections.name), q.quote(sync_pending.name)
    cid = _literal(conn, collection.id)
    doc_id = as_text.format(f"{row}.{q.quote(collection.id_field.column.name)}")
    return (
        f"UPDATE {counter} SET last_seq = last_seq + 1 WHERE collection_id = {cid};\n"
        f"INSERT INTO {pending} (collection_id, seq, doc_id)"
        f" SELECT collection_id, last_seq, {doc_id} FROM {counter} WHERE collection_id = {cid};\n"
    )


def _bodies(conn, collection, *, as_text: str) -> dict[str, tuple[str, str]]:
    """(event, body) per trigger; an update that changes the key queues both ids."""
    key = conn.dialect.identifier_preparer.quote(collection.id_field.column.name)
    new = _statements(conn, collection, "NEW", as_text=as_text)
    old = _statements(conn, collection, "OLD", as_text=as_text)
    return {
        "insert": ("INSERT", new),
        "update": ("UPDATE", new, old, f"OLD.{key} <> NEW.{key}"),
        "delete": ("DELETE", old),
    }


def _sqlite(conn, collection) -> None:
    q = conn.dialect.identifier_preparer
    table = q.format_table(collection.table)
    for kind, (event, body, *moved) in _bodies(
        conn, collection, as_text="CAST({} AS TEXT)"
    ).items():
        name = q.quote(_name(kind, collection.id))
        _run(conn, f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN\n{body}END")
        if moved:  # SQLite triggers have no IF: a second one for a changed key
            old, condition = moved
            _run(
                conn,
                f"CREATE TRIGGER {q.quote(_name('rekey', collection.id))} AFTER UPDATE ON {table}"
                f" FOR EACH ROW WHEN {condition} BEGIN\n{old}END",
            )


def _mysql(conn, collection) -> None:
    q = conn.dialect.identifier_preparer
    table = q.format_table(collection.table)
    for kind, (event, body, *moved) in _bodies(
        conn, collection, as_text="CAST({} AS CHAR)"
    ).items():
        if moved:
            old, condition = moved
            body = f"{body}IF {condition} THEN\n{old}END IF;\n"
        _run(
            conn,
            f"CREATE TRIGGER {q.quote(_name(kind, collection.id))} AFTER {event} ON {table}"
            f" FOR EACH ROW BEGIN\n{body}END",
        )
