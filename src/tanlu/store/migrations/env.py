"""Alembic's environment: migrations run on the connection tanlu.store.database.upgrade opens."""

from alembic import context

from tanlu.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
