"""Sync users with hashed passwords, their per-collection grants, and sessions
(see connector/sync/tables.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from alembic import op

# As at revision 0005: later changes to these tables get their own migration.
from connector.sync.tables import USER_TABLES

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    for table in USER_TABLES:
        table.create(bind)


def downgrade():
    bind = op.get_bind()
    for table in reversed(USER_TABLES):
        table.drop(bind)
