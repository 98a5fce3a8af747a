"""Persistence: engines, migrations (Alembic, under `migrations/`), copy helpers and the tables,
and the active instance's lease (`lease`: the row and the fencing check every effect makes;
`leadership`: this instance's role, kept by the lease)."""
