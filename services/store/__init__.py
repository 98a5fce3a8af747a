"""Persistence: engines, migrations (Alembic, under `migrations/`), copy helpers and the tables."""
