"""Alembic migrations of the service's schema (run by :func:`service.db.migrate`)."""
