"""Alembic environment: runs against the engine the Store hands over (no alembic.ini needed)."""

from alembic import context

from vigil.store.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
