"""Alembic environment: runs migrations on the connection that :func:`service.db.migrate` gives."""

from __future__ import annotations

from alembic import context

from service.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand without bsb
    raise RuntimeError("run migrations through service.db.migrate(), which passes a connection")
# Batch mode lets later migrations alter SQLite tables (SQLite's ALTER TABLE is limited).
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
