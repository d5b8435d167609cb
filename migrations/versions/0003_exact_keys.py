"""MySQL/MariaDB: metadata keys compare exactly.

The server's default collation ignores case, accents and trailing spaces, so
the metadata of table "T2H" would be that of "t2h" (table names are
case-sensitive there). Binary, no-pad collations make each key its own.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEYS = {
    "_connector_fields": {"collection_id": 255, "field_key": 255},
    "_connector_collections": {"collection_id": 255},
    "_connector_settings": {"name": 64},
}


def _collation() -> str | None:
    dialect = op.get_context().dialect
    if dialect.name not in ("mysql", "mariadb"):
        return None
    return "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"


def _alter(collation):
    for table, columns in KEYS.items():
        for column, length in columns.items():
            op.alter_column(table, column, type_=sa.String(length, collation=collation),
                            existing_nullable=False)


def upgrade():
    collation = _collation()
    if collation:
        _alter(collation)


def downgrade():
    if _collation():
        _alter(None)
