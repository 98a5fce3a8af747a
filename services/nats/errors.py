"""Errors the broker side raises.

    BrokerAccessError (ConnectionError)    the broker refused this client's credentials or TLS
    EmbeddedNatsError (RuntimeError)       the embedded nats-server is missing or did not start
    UnroutableEventError (ValueError)      a body with no contract type and no fallback subject
    UnsupportedBrokerError (RuntimeError)  the nats-server is older than the intake needs (2.10)

No common base: each keeps the standard library base an `except` in the service, the command
line (`services.cli.errors`) or a caller's code catches it by. Each message names what to
change (a setting, the binary, the file's position), never a credential or a body.

Imports the standard library only.
"""


class BrokerAccessError(ConnectionError):
    """The broker refused this client at its first connect (credentials or TLS): retrying the
    same settings cannot help, so the connect ends instead of looping."""


class EmbeddedNatsError(RuntimeError):
    """The embedded nats-server is missing, failed to start, or did not become ready."""


class UnroutableEventError(ValueError):
    """A body with no contract type to route it by, and no fallback subject; nothing was sent."""


class UnsupportedBrokerError(RuntimeError):
    """The connected nats-server lacks a feature the intake cannot run without; raised before
    anything is fetched, so nothing is taken in wrongly."""
