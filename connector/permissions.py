"""Collection permissions: who may read, insert, update and remove items.

Each collection keeps four roles in the metadata tables (ADMIN,
SITE_MEMBER_AUTHOR, SITE_MEMBER, ANYONE; default ADMIN for writes, ANYONE for
reads). With ``CONNECTOR_ENFORCE_PERMISSIONS`` the connector checks them against
the ``metadata.identity`` Wix signs into every request:

- a Wix user or app (and a direct caller with the API key) is ADMIN;
- a site member is SITE_MEMBER, and where the role is SITE_MEMBER_AUTHOR may
  touch only items whose ``_owner`` is that member;
- an anonymous visitor, or a request without an identity, is ANYONE.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sqlalchemy as sa

from .catalog import Collection
from .errors import PermissionDenied
from .fieldtypes import Invalid

ADMIN, AUTHOR, MEMBER, ANYONE = "ADMIN", "SITE_MEMBER_AUTHOR", "SITE_MEMBER", "ANYONE"
OWNER = "_owner"

#: Which identity types Wix sends map to which caller role.
_ROLE_OF_IDENTITY = {"WIX_USER": ADMIN, "APP": ADMIN, "MEMBER": MEMBER}


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as far as permissions go.

    :param role: ADMIN, SITE_MEMBER or ANYONE.
    :param member_id: the site member's id (for SITE_MEMBER).
    """

    role: str
    member_id: str | None = None

    def describe(self) -> str:
        return {ADMIN: "an admin", MEMBER: "a site member"}.get(self.role, "an anonymous visitor")


ADMIN_CALLER = Caller(ADMIN)


def caller_of(metadata: dict, *, signed: bool) -> Caller:
    """The caller of a request from Wix's ``metadata`` (direct callers are ADMIN).

    :param metadata: the token's ``data.metadata``.
    :param signed: whether the request came as a Wix-signed token.
    """
    if not signed:
        return ADMIN_CALLER
    identity = metadata.get("identity") if isinstance(metadata, dict) else None
    identity = identity if isinstance(identity, dict) else {}
    role = _ROLE_OF_IDENTITY.get(identity.get("identityType"), ANYONE)
    if role == MEMBER:
        member_id = identity.get("memberId")
        if not isinstance(member_id, str) or not member_id:
            return Caller(ANYONE)  # a member without an id cannot own anything
        return Caller(MEMBER, member_id)
    return Caller(role)


def authorize(collection: Collection, operation: str, caller: Caller) -> str | None:
    """Check that ``caller`` may do ``operation`` on ``collection``.

    :param operation: ``read``, ``insert``, ``update`` or ``remove``.
    :returns: None when the caller may touch every item, or the member id whose
        items alone the caller may touch (SITE_MEMBER_AUTHOR).
    :raises PermissionDenied: when the role does not allow it at all.
    """
    required = collection.info.permissions.get(operation, ADMIN)
    if caller.role == ADMIN or required == ANYONE:
        return None
    if caller.role == MEMBER and required == MEMBER:
        return None
    if caller.role == MEMBER and required == AUTHOR:
        if OWNER not in collection.fields:
            raise _denied(collection, operation, required, caller, "it has no _owner field")
        return caller.member_id
    raise _denied(collection, operation, required, caller)


def _denied(collection, operation, required, caller, why=None) -> PermissionDenied:
    text = (
        f"The collection {collection.id!r} lets {required} {operation} items; "
        f"the caller is {caller.describe()}"
    )
    return PermissionDenied(
        text + (f", and {why}." if why else "."),
        collectionId=collection.id,
        operation=operation,
        requiredRole=required,
    )


def owner_clause(collection: Collection, owner: str) -> sa.ColumnElement:
    """Rows that belong to ``owner``."""
    return collection.fields[OWNER].column == owner


def require_owned(conn, collection: Collection, ids: list, owner: str) -> None:
    """Refuse (before any change) when some of ``ids`` belong to someone else.

    :param ids: item ids as the database binds them; ids that match no row are
        left to the write, which reports them as not found.
    """
    if not ids:
        return
    id_column = collection.id_field.column
    column = collection.fields[OWNER].column
    other = conn.execute(
        sa.select(id_column)
        .where(id_column.in_(ids), sa.or_(column.is_(None), column != owner))
        .limit(1)
    ).first()
    if other is not None:
        raise PermissionDenied(
            f"The collection {collection.id!r} lets members change only their own items; "
            f"item {collection.id_field.to_wire(other[0])!r} is not the caller's.",
            collectionId=collection.id,
            itemId=collection.id_field.to_wire(other[0]),
        )


def owned_items(collection: Collection, items: list, owner: str | None, *, stamp: bool) -> list:
    """``items``, refused when one names an owner other than ``owner``.

    :param owner: the caller's member id (None: an anonymous visitor).
    :param stamp: set ``_owner`` to ``owner`` on every item (inserts by members).
    """
    for item in items:
        named = item.get(OWNER) if isinstance(item, dict) else None
        if named not in (None, owner):
            raise PermissionDenied(
                f"Only an admin may write items owned by someone else ({OWNER} {named!r}).",
                collectionId=collection.id,
            )
    if not stamp:
        return items
    return [{**item, OWNER: owner} if isinstance(item, dict) else item for item in items]


def narrow(collection: Collection, operation: str, fn, args, who: Caller):
    """``(collection, fn, args)`` narrowed to what the caller may do, or
    :class:`PermissionDenied` before anything runs.

    :param operation: ``read``, ``insert``, ``update``, ``remove``, ``truncate``
        or ``references`` (an update of the referring items).
    :param fn: the service call, ``fn(conn, collection, *args)``.
    :param who: the caller.

    A member under SITE_MEMBER_AUTHOR reads through an owner-scoped collection,
    writes items stamped with their ``_owner``, and changes or removes only
    items that are theirs (checked in the write's own transaction).
    """
    if who.role == ADMIN:
        return collection, fn, args
    role_of = {"truncate": "remove", "references": "update"}.get(operation, operation)
    owner = authorize(collection, role_of, who)
    if operation == "read":
        if owner is not None:
            collection = dataclasses.replace(collection, owner_scope=owner)
        return collection, fn, args
    if operation == "truncate" and owner is not None:
        raise PermissionDenied(
            "A member may not truncate a collection whose items have other owners.",
            collectionId=collection.id,
        )
    if OWNER in collection.fields and (
        operation == "insert" or (operation == "update" and owner is not None)
    ):
        # Members insert items of their own, visitors unowned ones; nobody but an
        # admin names another owner.
        stamp = operation == "insert" and who.member_id is not None
        items = owned_items(collection, args[0], who.member_id, stamp=stamp)
        args = (items, *args[1:])
    if owner is not None and operation in ("update", "remove", "references"):
        ids = _item_ids(
            collection,
            args[0],
            key={"update": "_id", "references": "referringItemId"}.get(operation),
        )
        inner = fn

        def fn(conn, collection, *rest):
            require_owned(conn, collection, ids, owner)
            return inner(conn, collection, *rest)

    return collection, fn, args


def _item_ids(collection: Collection, values: list, *, key: str | None) -> list:
    """The database ids in ``values`` (ids, or objects holding one under ``key``);
    invalid ones are skipped."""
    ids = []
    for value in values:
        raw = value.get(key) if key and isinstance(value, dict) else value
        try:
            ids.append(collection.id_field.to_database(raw))
        except Invalid:  # the write reports the bad id itself
            continue
    return ids
