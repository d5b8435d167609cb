"""The demo database: a SQLite file with sample collections from the Wix
documentation's flows (properties, cities, job listings)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa


def _system_columns():
    return [
        sa.Column("_id", sa.String(64), primary_key=True),
        sa.Column("_createdDate", sa.DateTime),
        sa.Column("_updatedDate", sa.DateTime),
        sa.Column("_owner", sa.String(64)),
    ]


def _tables(metadata: sa.MetaData):
    properties = sa.Table(
        "SpringfieldProperties",
        metadata,
        *_system_columns(),
        sa.Column("address", sa.String(200)),
        sa.Column("floor", sa.Integer),
        sa.Column("aptNum", sa.Integer),
        sa.Column("numBedrooms", sa.Integer),
        sa.Column("numBaths", sa.Integer),
        sa.Column("price", sa.Double),
        sa.Column("pets", sa.Boolean),
        sa.Column("airConditioning", sa.Boolean),
    )
    cities = sa.Table(
        "cities",
        metadata,
        *_system_columns(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("population", sa.Integer),
        sa.Column("isCapital", sa.Boolean),
        sa.Column("founded", sa.Date),
        sa.Column("location", sa.JSON),
    )
    return properties, cities


def _stamp(day: int) -> dict:
    when = dt.datetime(2021, 2, day, 12, 0, 0)
    return {"_createdDate": when, "_updatedDate": when, "_owner": None}


def seed(app, api_key: str) -> bool:
    """Create and fill the demo collections once; False when they already exist."""
    engine = app.extensions["connector.engine"]
    if sa.inspect(engine).has_table("cities"):
        return False
    metadata = sa.MetaData()
    properties, cities = _tables(metadata)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            properties.insert(),
            [
                {
                    "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
                    "address": "742 Evergreen Terrace",
                    "floor": 4,
                    "aptNum": 2,
                    "numBedrooms": 2,
                    "numBaths": 1,
                    "price": 600,
                    "pets": True,
                    "airConditioning": False,
                    **_stamp(1),
                },
                {
                    "_id": "e831385d-d067-4905-a98a-456f5a526ca2",
                    "address": "247 Foreverblue Blvd",
                    "floor": 2,
                    "aptNum": 2,
                    "numBedrooms": 1,
                    "numBaths": 1,
                    "price": 680,
                    "pets": False,
                    "airConditioning": True,
                    **_stamp(2),
                },
                {
                    "_id": "f3b0f0a4-3d55-4a57-9b0e-2d2c6f1d7e10",
                    "address": "19 Plow King Lane",
                    "floor": 1,
                    "aptNum": 7,
                    "numBedrooms": 3,
                    "numBaths": 2,
                    "price": 920,
                    "pets": True,
                    "airConditioning": True,
                    **_stamp(3),
                },
                {
                    "_id": "0b6c1e52-8f41-4d8e-b8a5-7b1c2f3d4e5f",
                    "address": "12 Cypress Creek",
                    "floor": 3,
                    "aptNum": 11,
                    "numBedrooms": 1,
                    "numBaths": 1,
                    "price": 540,
                    "pets": False,
                    "airConditioning": False,
                    **_stamp(4),
                },
            ],
        )
        conn.execute(
            cities.insert(),
            [
                {
                    "_id": "new-york",
                    "name": "New York",
                    "country": "US",
                    "population": 8300000,
                    "isCapital": False,
                    "founded": dt.date(1624, 1, 1),
                    "location": {"lat": 40.71, "lng": -74.0},
                    **_stamp(1),
                },
                {
                    "_id": "washington",
                    "name": "Washington",
                    "country": "US",
                    "population": 690000,
                    "isCapital": True,
                    "founded": dt.date(1790, 7, 16),
                    "location": {"lat": 38.9, "lng": -77.04},
                    **_stamp(2),
                },
                {
                    "_id": "ottawa",
                    "name": "Ottawa",
                    "country": "CA",
                    "population": 1017000,
                    "isCapital": True,
                    "founded": dt.date(1826, 9, 26),
                    "location": {"lat": 45.42, "lng": -75.7},
                    **_stamp(3),
                },
                {
                    "_id": "toronto",
                    "name": "Toronto",
                    "country": "CA",
                    "population": 2794000,
                    "isCapital": False,
                    "founded": dt.date(1793, 8, 27),
                    "location": {"lat": 43.65, "lng": -79.38},
                    **_stamp(4),
                },
                {
                    "_id": "montreal",
                    "name": "Montréal",
                    "country": "CA",
                    "population": 1762000,
                    "isCapital": False,
                    "founded": dt.date(1642, 5, 17),
                    "location": {"lat": 45.5, "lng": -73.57},
                    **_stamp(5),
                },
            ],
        )
    _seed_references(app, api_key)
    return True


EMPLOYERS = [
    {
        "_id": "hellsKitchen",
        "name": "Hell's Kitchen",
        "numEmployees": 14,
        "reputation": 4.4,
        "address": "616 Old Nick Road, Salt Lake City, Utah",
    },
    {
        "_id": "joesMagicBurgers",
        "name": "Joe's Magic Burgers",
        "numEmployees": 38,
        "reputation": 4.9,
        "address": "46 Horseshoe Lane, Utah",
    },
]
JOBS = [
    {
        "_id": "c285e77c-a86b-4361-a55f-c6b934d70187",
        "jobTitle": "kitchenStaff",
        "employer": "hellsKitchen",
        "address": "616 Old Nick Road, Salt Lake City, Utah",
        "salaryHourly": 10,
        "status": "OPEN",
    },
    {
        "_id": "528a0b23-d6d8-464a-82af-09e0c00f56b0",
        "jobTitle": "kitchenStaff",
        "employer": "joesMagicBurgers",
        "address": "23 Hawkins Street, Arborville, Utah",
        "salaryHourly": 9.5,
        "status": "OPEN",
    },
    {
        "_id": "d345e77c-4f6b-5a60-4fa7-d6b9dd70cf90",
        "jobTitle": "shiftManager",
        "employer": "hellsKitchen",
        "address": "616 Old Nick Road, Salt Lake City, Utah",
        "salaryHourly": 14.5,
        "status": "OPEN",
    },
]


def _seed_references(app, api_key: str) -> None:
    """The employment agency of the Wix documentation: jobs refer to their employer
    (REFERENCE) and employers list their positions (MULTI_REFERENCE). Made through
    the connector's own API, as a Wix site would."""
    client = app.test_client()

    def call(path, body):
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {api_key}"})
        if response.status_code != 200:
            raise RuntimeError(f"demo set-up failed at {path}: {response.get_json()}")
        return response.get_json()

    employer_fields = [
        {"key": "name", "type": "TEXT"},
        {"key": "address", "type": "TEXT"},
        {"key": "numEmployees", "type": "NUMBER"},
        {"key": "reputation", "type": "NUMBER"},
    ]
    call(
        "/v3/collections/create",
        {"collection": {"id": "employers", "displayName": "Employers", "fields": employer_fields}},
    )
    call(
        "/v3/collections/create",
        {
            "collection": {
                "id": "northUtahJobs",
                "displayName": "North Utah jobs",
                "fields": [
                    {"key": "jobTitle", "type": "TEXT"},
                    {
                        "key": "employer",
                        "type": "REFERENCE",
                        "singleReferenceOptions": {"referencedCollectionId": "employers"},
                    },
                    {"key": "address", "type": "TEXT"},
                    {"key": "salaryHourly", "type": "NUMBER"},
                    {"key": "status", "type": "TEXT"},
                ],
            }
        },
    )
    call(
        "/v3/collections/update",
        {
            "collection": {
                "id": "employers",
                "displayName": "Employers",
                "fields": [
                    *employer_fields,
                    {
                        "key": "positions",
                        "displayName": "Positions",
                        "type": "MULTI_REFERENCE",
                        "multiReferenceOptions": {
                            "referencedCollectionId": "northUtahJobs",
                            "referencedCollectionFieldKey": "employers",
                            "referencedCollectionFieldDisplayName": "Employers",
                        },
                    },
                ],
            }
        },
    )
    call("/v3/items/insert", {"collectionId": "employers", "items": EMPLOYERS})
    call("/v3/items/insert", {"collectionId": "northUtahJobs", "items": JOBS})
    call(
        "/v3/items/insert-references",
        {
            "collectionId": "employers",
            "referringFieldKey": "positions",
            "references": [
                {"referringItemId": job["employer"], "referencedItemId": job["_id"]} for job in JOBS
            ],
        },
    )
