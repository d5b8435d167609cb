"""Collection metadata: display names and permissions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "_connector_collections",
        sa.Column("collection_id", sa.String(255), primary_key=True),
        sa.Column("display_name", sa.String(255)),
        sa.Column("permissions", sa.Text),
    )


def downgrade():
    op.drop_table("_connector_collections")
