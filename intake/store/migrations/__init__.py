"""Alembic migrations of the intake store."""
