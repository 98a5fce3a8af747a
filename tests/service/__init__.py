"""Service tests: the service's parts on SQLite, in-process (no real server)."""
