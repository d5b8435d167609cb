"""What the Wix contract says about field types and their capabilities, stated
once for the tests (independently of connector/, so the two can be compared)."""

#: Every field type collections/create makes a column for, in capabilities/get's order.
COLUMN_TYPES = [
    "TEXT",
    "NUMBER",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "TIME",
    "URL",
    "RICH_TEXT",
    "IMAGE",
    "VIDEO",
    "AUDIO",
    "DOCUMENT",
    "LANGUAGE",
    "PAGE_LINK",
    "OBJECT",
    "ANY",
    "ADDRESS",
    "RICH_CONTENT",
    "MEDIA_GALLERY",
    "ARRAY",
    "ARRAY_STRING",
    "ARRAY_DOCUMENT",
]
TEXT_LIKE = (
    "TEXT",
    "URL",
    "RICH_TEXT",
    "IMAGE",
    "VIDEO",
    "AUDIO",
    "DOCUMENT",
    "LANGUAGE",
    "PAGE_LINK",
)
ORDERED = ("NUMBER", "DATE", "DATETIME", "TIME")
JSON_LIKE = (
    "OBJECT",
    "ANY",
    "ADDRESS",
    "RICH_CONTENT",
    "MEDIA_GALLERY",
    "ARRAY",
    "ARRAY_STRING",
    "ARRAY_DOCUMENT",
)
ARRAY_LIKE = ("MEDIA_GALLERY", "ARRAY", "ARRAY_STRING", "ARRAY_DOCUMENT")

#: Every query-operator capability, in the order Wix lists them.
ALL_CAPABILITIES = [
    "EQ",
    "LT",
    "GT",
    "NE",
    "LTE",
    "GTE",
    "STARTS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "HAS_SOME",
    "HAS_ALL",
    "EXISTS",
    "URLIZED",
]
ORDERED_CAPABILITIES = ["EQ", "LT", "GT", "NE", "LTE", "GTE", "HAS_SOME", "HAS_ALL", "EXISTS"]
EQUALITY_CAPABILITIES = ["EQ", "NE", "HAS_SOME", "HAS_ALL", "EXISTS"]


def expected_capabilities(wix_type: str, *, integer_key: bool = False) -> dict:
    """The field capabilities the contract gives a field of ``wix_type``."""
    if integer_key or wix_type in ORDERED:
        return {"sortable": True, "queryOperators": ORDERED_CAPABILITIES}
    if wix_type in TEXT_LIKE:
        return {"sortable": True, "queryOperators": ALL_CAPABILITIES}
    if wix_type == "BOOLEAN":
        return {"sortable": True, "queryOperators": EQUALITY_CAPABILITIES}
    assert wix_type in JSON_LIKE, wix_type
    return {"sortable": False, "queryOperators": EQUALITY_CAPABILITIES}
