"""The test suite, one package: helpers are imported as `tests.<folder>.<module>`.

unit/ (no I/O), service/ (SQLite, FastStream test broker), integration/ (real NATS and PostgreSQL),
faults/ (fault injection against real servers), tools/ (linters run as tests: hadolint,
import-linter), support/ (helpers shared by several folders).
"""
