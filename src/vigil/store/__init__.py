"""Persistence: SQLAlchemy models, engine set-up and Alembic migrations (SQLite default, PostgreSQL)."""
