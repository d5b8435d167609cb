"""Alembic environment for the connector's metadata tables.

Run by ``connector.migrate.upgrade`` at start-up and by ``connector db upgrade``;
the caller passes its connection in ``config.attributes["connection"]``.
"""

from alembic import context

from connector.metadata import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
