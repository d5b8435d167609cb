"""The one write path: every change to a collection's rows (items.py) or to its
references (references.py) goes through this package, one transaction a request,
so that the sync API's change feed can hook in here."""

from .items import insert, now, remove, stored_rows, truncate, unknown_keys, update
from .references import insert_references, remove_references

__all__ = [
    "insert",
    "insert_references",
    "now",
    "remove",
    "remove_references",
    "stored_rows",
    "truncate",
    "unknown_keys",
    "update",
]
