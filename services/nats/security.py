"""Broker access: credentials and TLS for nats-py and FastStream, and the fail-fast first connect.

Imports nats-py, FastStream's security types and settings; never the database, intake or matching.
"""

import logging
import ssl
from typing import Any

from faststream.nats.security import NatsSecurity, NatsToken, NatsUserPassword
from nats import errors as nats_errors

from services.nats.errors import BrokerAccessError
from services.redact import redact_url
from services.settings import Settings

log = logging.getLogger(__name__)

_AUTHORIZATION_VIOLATION = "authorization violation"


def without_credentials(url: str) -> str:
    """The URL fit for logs and error texts (`services.redact.redact_url`)."""
    return redact_url(url)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A client TLS context trusting INTERN_MATCH_BROKER_TLS_CA (else the system CAs), with the
    client certificate and key when given; None when no TLS setting is set."""
    if not (settings.broker_tls_ca or settings.broker_tls_cert):
        return None
    cafile = str(settings.broker_tls_ca) if settings.broker_tls_ca else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if settings.broker_tls_cert:
        key = str(settings.broker_tls_key) if settings.broker_tls_key else None
        context.load_cert_chain(str(settings.broker_tls_cert), key)
    return context


def broker_security(settings: Settings) -> NatsSecurity | None:
    """FastStream's security object: user/password, else token, else TLS alone, else None."""
    context = tls_context(settings)
    if settings.broker_user:
        return NatsUserPassword(
            settings.broker_user, _secret(settings.broker_password), ssl_context=context
        )
    if settings.broker_token:
        return NatsToken(_secret(settings.broker_token), ssl_context=context)
    return NatsSecurity(ssl_context=context) if context else None


def connect_options(settings: Settings) -> dict[str, Any]:
    """nats-py `connect` keyword arguments for the same credentials and TLS, secrets unwrapped."""
    options: dict[str, Any] = {}
    if settings.broker_user:
        options["user"] = settings.broker_user
        options["password"] = _secret(settings.broker_password)
    elif settings.broker_token:
        options["token"] = _secret(settings.broker_token)
    context = tls_context(settings)
    if context is not None:
        options["tls"] = context
    return options


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


class FirstConnectGuard:
    """nats-py callbacks telling a refusal at the first connect from a later disconnect.

    Before the client has ever connected, an authorization violation or a failed certificate
    check raises BrokerAccessError out of the error callback, which ends nats-py's connect
    loop. nats-py calls `on_disconnected` only for a connection that was up, so from then on
    every error is logged and reconnecting goes on for as long as the client is configured to.
    """

    def __init__(self, url: str) -> None:
        self.url = without_credentials(url)
        self.has_connected = False

    async def on_disconnected(self) -> None:
        self.has_connected = True
        log.info("broker disconnected", extra={"broker_url": self.url})

    async def on_error(self, error: Exception) -> None:
        if not self.has_connected:
            refusal = self.refusal(error)
            if refusal is not None:
                raise BrokerAccessError(refusal) from None
        log.warning(
            "broker connection error",
            extra={"broker_url": self.url, "error": type(error).__name__},
        )

    def refusal(self, error: Exception) -> str | None:
        """The message for an error that retrying cannot mend, else None."""
        if isinstance(error, nats_errors.AuthorizationError) or (
            isinstance(error, nats_errors.Error) and _AUTHORIZATION_VIOLATION in str(error).lower()
        ):
            return f"NATS at {self.url} refused the credentials (authorization violation)"
        if isinstance(error, ssl.SSLCertVerificationError):
            reason = error.verify_message or "certificate verify failed"
            return f"NATS at {self.url}: TLS certificate not trusted ({reason})"
        return None

    def callbacks(self) -> dict[str, Any]:
        """The keyword arguments for `nats.connect` or `NatsBroker`."""
        return {"error_cb": self.on_error, "disconnected_cb": self.on_disconnected}
