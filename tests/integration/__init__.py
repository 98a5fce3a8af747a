"""Integration tests: against a real nats-server and a real PostgreSQL."""
