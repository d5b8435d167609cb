"""The connector's metadata: declared field types and shared settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "_connector_fields",
        sa.Column("collection_id", sa.String(255), primary_key=True),
        sa.Column("field_key", sa.String(255), primary_key=True),
        sa.Column("wix_type", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(255)),
        sa.Column("description", sa.Text),
    )
    op.create_table(
        "_connector_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade():
    op.drop_table("_connector_settings")
    op.drop_table("_connector_fields")
