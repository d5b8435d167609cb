"""Errors of the sync API, answered as Sync Gateway writes them:
``{"error": "conflict", "reason": "Document update conflict."}`` with its status."""

from __future__ import annotations

#: Sync Gateway's error names by HTTP status, for refusals that are not SyncErrors
#: (the shared layers' ConnectorErrors, routing errors, unexpected failures).
ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "file_exists",
    413: "request_entity_too_large",
    500: "internal_error",
    503: "service_unavailable",
}


def body_for(status: int, reason: str) -> dict:
    """The sync API's error body for a refusal with this status."""
    return {"error": ERRORS.get(status, "bad_request"), "reason": reason}


class SyncError(Exception):
    """Base of every error the sync API answers."""

    error = "bad_request"
    status = 400
    reason = "Bad request."

    def __init__(self, reason: str | None = None):
        super().__init__(reason or self.reason)

    @property
    def body(self) -> dict:
        return {"error": self.error, "reason": str(self)}


class BadRequest(SyncError):
    pass


class Unauthorized(SyncError):
    error, status, reason = "unauthorized", 401, "Login required."


class Forbidden(SyncError):
    error, status, reason = "forbidden", 403, "Forbidden."


class NotFound(SyncError):
    error, status, reason = "not_found", 404, "missing"


class Conflict(SyncError):
    error, status, reason = "conflict", 409, "Document update conflict."


class FileExists(SyncError):
    error, status, reason = "file_exists", 412, "The database already exists."


class TooLarge(SyncError):
    error, status, reason = "request_entity_too_large", 413, "The request is too large."
