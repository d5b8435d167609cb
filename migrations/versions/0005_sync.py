"""The sync API: tracked collections, pending changes, documents, revision trees,
attachment blobs and _local documents (see connector/sync/tables.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from alembic import op

# The tables as they were at this revision: a later change to them gets its own
# migration (and this one a frozen copy of the definitions).
from connector.sync.tables import TABLES

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade():
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
