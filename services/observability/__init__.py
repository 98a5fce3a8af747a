"""Health and readiness probes, Prometheus metrics, and JSON logs."""
