"""Multi-references: which join table carries each MULTI_REFERENCE field.

One row per field and direction: a reverse field (the referenced collection's
view of the same join table) is a row with the two sides swapped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _key(length):
    # Keys compare exactly on MySQL/MariaDB too (see 0003).
    dialect = op.get_context().dialect
    if dialect.name not in ("mysql", "mariadb"):
        return sa.String(length)
    mariadb = getattr(dialect, "is_mariadb", False)
    return sa.String(length, collation="utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin")


def upgrade():
    op.create_table(
        "_connector_references",
        sa.Column("collection_id", _key(255), primary_key=True),
        sa.Column("field_key", _key(255), primary_key=True),
        sa.Column("referenced_collection", _key(255), nullable=False),
        sa.Column("join_table", _key(255), nullable=False),
        sa.Column("near_column", _key(64), nullable=False),
        sa.Column("far_column", _key(64), nullable=False),
        sa.Column("reverse_field_key", _key(255)),
    )


def downgrade():
    op.drop_table("_connector_references")
