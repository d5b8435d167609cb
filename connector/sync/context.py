"""What every sync call needs: the catalog, the settings, and transactions on a
collection with its captured changes settled first."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from ..catalog import Catalog, Collection
from ..errors import CollectionNotFound
from . import store
from .errors import BadRequest, Forbidden, NotFound
from .store import Settings


@dataclass
class Sync:
    """What every sync call needs: the catalog and the settings."""

    catalog: Catalog
    settings: Settings

    @property
    def engine(self):
        return self.catalog.engine

    def collection(self, db: str) -> Collection:
        """The collection behind database ``db``, tracked from now on."""
        try:
            collection = self.catalog.get(db)
        except CollectionNotFound:
            raise NotFound("no such database") from None
        if collection.is_view or collection.read_only:
            raise Forbidden(f"{db!r} is read-only: the sync API serves tables with one key.")
        if not collection.tracked:
            store.track(self.engine, collection, self.settings)
            self.catalog.changed()  # every process's Wix writes now keep the history too
            collection = self.catalog.get(db)
        return collection

    def transaction(self):
        """A write transaction (store.write_transaction)."""
        return store.write_transaction(self.engine)

    def settle(self, collection: Collection) -> None:
        """Turn other programs' captured changes into revisions, if there are any."""
        with self.engine.connect() as conn:
            if not store.has_pending(conn, collection.id):
                return
        with self.transaction() as conn:
            store.settle(conn, collection, self.settings)

    @contextmanager
    def reading(self, db: str):
        """A connection to read ``db`` with, every captured change settled first."""
        collection = self.collection(db)
        self.settle(collection)
        with self.engine.connect() as conn:
            yield conn, collection

    @contextmanager
    def writing(self, db: str):
        """A write transaction on ``db``: the sequence lock taken, changes settled."""
        collection = self.collection(db)
        with self.transaction() as conn:
            store.lock(conn, collection.id)
            store.settle(conn, collection, self.settings)
            yield conn, collection


def check_doc_id(doc_id) -> str:
    if not isinstance(doc_id, str) or not doc_id:
        raise BadRequest("A document id must be a non-empty string.")
    if doc_id.startswith("_"):
        raise BadRequest(f"Document id {doc_id!r} is reserved: ids may not start with '_'.")
    return doc_id
