"""Errors of the Wix external database contract, and the one function that
builds every JSON error body.

Services raise these by meaning; the HTTP layer turns them into
``{"errorCode", "errorMessage", "data"}`` with the contract's status.
"""

from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, data: dict | None = None) -> dict:
    """The contract's error object: every error the connector answers is built here."""
    return {"errorCode": code, "errorMessage": message, "data": data or {}}


class ConnectorError(Exception):
    """Base of every error the connector answers in the contract's format."""

    code = "BAD_REQUEST"
    status = 400
    message = "The request is invalid."

    def __init__(self, message: str | None = None, **data: Any):
        super().__init__(message or self.message)
        self.data = data

    @property
    def body(self) -> dict:
        return error_body(self.code, str(self), self.data)


class BadRequest(ConnectorError):
    """Malformed body, or a request that makes no sense as a whole."""


class Unauthorized(ConnectorError):
    code = "UNAUTHORIZED"
    status = 401
    message = "The request is not authenticated."


class PermissionDenied(ConnectorError):
    """The caller may not do this (collection permissions, an unserved site);
    nothing was changed."""

    code = "PERMISSION_DENIED"
    status = 403
    message = "The caller may not do this."


class CollectionNotFound(ConnectorError):
    code = "COLLECTION_NOT_FOUND"
    status = 404
    message = "The requested collection was not found."

    def __init__(self, collection_id: str):
        super().__init__(collectionId=collection_id)


class ItemNotFound(ConnectorError):
    code = "ITEM_NOT_FOUND"
    status = 404
    message = "The requested item was not found."

    def __init__(self, item_id: str):
        super().__init__(itemId=item_id)


class ItemAlreadyExists(ConnectorError):
    code = "ITEM_ALREADY_EXISTS"
    status = 409
    message = "The item already exists in the collection."

    def __init__(self, item_id: str):
        super().__init__(itemId=item_id)


class CollectionAlreadyExists(ConnectorError):
    code = "COLLECTION_ALREADY_EXISTS"
    status = 409
    message = "The specified collection already exists."

    def __init__(self, collection_id: str):
        super().__init__(collectionId=collection_id)


class CollectionChangeNotSupported(ConnectorError):
    """Schema changes the connector will not make; ``errors`` says which and why."""

    code = "COLLECTION_CHANGE_NOT_SUPPORTED"
    message = "Some fields in this collection cannot be changed."

    def __init__(self, errors: list[dict], message: str | None = None):
        super().__init__(message, errors=errors)


def change_error(field_key: str, message: str) -> dict:
    """One entry of ``COLLECTION_CHANGE_NOT_SUPPORTED.data.errors``."""
    return {"fieldKey": field_key, "message": message}


class ReferenceNotFound(ConnectorError):
    code = "REFERENCE_NOT_FOUND"
    status = 404
    message = "The requested reference was not found."

    def __init__(self, referringItemId, referencedItemId):  # noqa: N803 - the wire's names
        super().__init__(referringItemId=referringItemId, referencedItemId=referencedItemId)


class ReferenceAlreadyExists(ConnectorError):
    code = "REFERENCE_ALREADY_EXISTS"
    status = 409
    message = "The requested reference already exists for the referring item."

    def __init__(self, referringItemId, referencedItemId):  # noqa: N803 - the wire's names
        super().__init__(referringItemId=referringItemId, referencedItemId=referencedItemId)


class ReadOnlyCollection(ConnectorError):
    message = "The collection is read-only."

    def __init__(self, collection_id: str):
        super().__init__(
            f"The collection {collection_id!r} is read-only: it has no single-column primary key.",
            collectionId=collection_id,
        )


class ValidationError(ConnectorError):
    """One or more values in the request are invalid; ``violations`` says which."""

    code = "VALIDATION_ERROR"
    message = "Some fields contain invalid values."

    def __init__(self, violations: list[dict], message: str | None = None):
        super().__init__(message or _summary(violations), violations=violations)
        self.violations = violations


def violation(field_path: str, rejected_value: Any, message: str) -> dict:
    """One entry of ``VALIDATION_ERROR.data.violations``."""
    return {"fieldPath": field_path, "rejectedValue": rejected_value, "message": message}


class DatabaseUnavailable(ConnectorError):
    """The database could not be reached or did not answer in time."""

    code = "DATABASE_UNAVAILABLE"
    status = 503
    message = "The database is unavailable; try again shortly."


class StatementTimeout(DatabaseUnavailable):
    """A statement ran past ``CONNECTOR_STATEMENT_TIMEOUT_MS`` and was stopped."""

    code = "STATEMENT_TIMEOUT"

    def __init__(self, limit_ms: int):
        super().__init__(
            f"The database took longer than CONNECTOR_STATEMENT_TIMEOUT_MS ({limit_ms} ms) "
            "allows, and the statement was stopped; narrow the query or try again.",
            timeoutMs=limit_ms,
        )


def _summary(violations: list[dict]) -> str:
    if len(violations) == 1:
        v = violations[0]
        return f"{v['fieldPath']}: {v['message']}"
    return f"{len(violations)} fields contain invalid values."
