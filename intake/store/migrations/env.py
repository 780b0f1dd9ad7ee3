"""Alembic environment: runs intake's migrations on the connection the store hands in."""

from __future__ import annotations

from alembic import context

from intake.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "intake migrations run through intake.store.Store, which passes a connection"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
