"""Alembic environment: runs migrations on the connection handed over by Database.migrate()."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from videolens.backends.metadata import tables  # noqa: F401  (registers every table on Base.metadata)
from videolens.backends.metadata.base import Base

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:  # plain `alembic` command line use
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
