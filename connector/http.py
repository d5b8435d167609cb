"""The HTTP edge shared by every blueprint: authenticate, validate, answer,
and turn every failure into the contract's error format."""

from __future__ import annotations

import json
import logging
import traceback
from functools import wraps

import orjson
import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from . import config, dberrors, permissions, schemas, tenants
from .errors import (
    BadRequest,
    ConnectorError,
    DatabaseUnavailable,
    StatementTimeout,
    error_body,
)
from .sync import errors as sync_errors

log = logging.getLogger("connector")

_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def endpoint(schema: type[schemas.Schema]):
    """Make a view of ``fn(args)``: authenticate the call, validate its request
    with ``schema``, and answer ``fn``'s result as JSON."""
    instance = schema()

    def decorate(fn):
        @wraps(fn)
        def view():
            verifier = current_app.extensions["connector.verifier"]
            envelope = verifier.verify(
                request.get_data(cache=False), request.headers.get("Authorization")
            )
            g.wix_metadata = envelope.metadata
            g.collection_id = envelope.request.get("collectionId")  # for the request log
            sites = current_app.extensions["connector.tenants"]
            if sites:  # the site's own database, or a refusal before any is touched
                site = (
                    envelope.metadata.get("instanceId")
                    if envelope.signed
                    else request.headers.get(tenants.INSTANCE_HEADER)
                )
                g.database = sites.database(site)
            g.caller = permissions.caller_of(envelope.metadata, signed=envelope.signed)
            _require_unicode(envelope.request)
            args = schemas.load(instance, envelope.request)
            # Validated by the schema; service.read takes it from here.
            g.consistent_read = envelope.request.get("consistentRead") is True
            return jsonify(fn(args))

        return view

    return decorate


def _require_unicode(value) -> None:
    """Refuse text no database can store: JSON lets a string hold a lone UTF-16
    surrogate (``"\\ud800"``), which has no UTF-8 form."""
    try:
        orjson.dumps(value)  # fast, and refuses lone surrogates (and some big numbers)
        return
    except orjson.JSONEncodeError:
        pass
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise BadRequest(
            "The request holds text that is not valid Unicode (a lone surrogate)."
        ) from None


def _sync_request() -> bool:
    """Whether the request is the sync API's (routed or not), which answers in its own shape."""
    prefix = config.sync_prefix(current_app.config)
    return request.path == prefix or request.path.startswith(prefix + "/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ConnectorError)
    def connector_error(exc: ConnectorError):
        if _sync_request():  # Sync Gateway's error shape on the sync API
            return jsonify(sync_errors.body_for(exc.status, str(exc))), exc.status
        return jsonify(exc.body), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if _sync_request():
            return jsonify(sync_errors.body_for(exc.code, exc.name)), exc.code
        code = _HTTP_CODES.get(exc.code, "BAD_REQUEST")
        return jsonify(error_body(code, exc.description or exc.name)), exc.code

    @app.errorhandler(sa.exc.DBAPIError)
    def database_error(exc: sa.exc.DBAPIError):
        if dberrors.timed_out(exc):
            log.warning("statement timed out: %s", dberrors.describe(exc))
            limit = int(current_app.config["CONNECTOR_STATEMENT_TIMEOUT_MS"])
            return connector_error(StatementTimeout(limit))
        if dberrors.unavailable(exc):
            log.warning("database unavailable: %s", dberrors.describe(exc))
            return connector_error(DatabaseUnavailable())
        # The database refused what this request asked (a value it cannot hold,
        # a query too large for it): the caller's to change, not a crash.
        log.warning("database refused the request: %s", dberrors.describe(exc))
        return connector_error(BadRequest("The database could not run this request."))

    @app.errorhandler(sa.exc.TimeoutError)
    def pool_timeout(exc):
        return connector_error(DatabaseUnavailable("No database connection is free; try again."))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Where it failed, not what it said: an exception's text can quote request data.
        log.error(
            "unexpected error %s at\n%s",
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        reason = "The connector failed unexpectedly; see its log."
        if _sync_request():
            return jsonify(sync_errors.body_for(500, reason)), 500
        return jsonify(error_body("INTERNAL_ERROR", reason)), 500
