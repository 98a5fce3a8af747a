"""Settings for probes and broker access, secrets kept out of reprs, and the first-connect guard."""

import pytest
from faststream.nats.security import NatsToken, NatsUserPassword
from nats import errors as nats_errors
from pydantic import ValidationError

from services.nats.errors import BrokerAccessError
from services.nats.security import (
    FirstConnectGuard,
    broker_security,
    connect_options,
    without_credentials,
)
from services.settings import Settings

DB_PASSWORD = "db-Pa55-word-7f3a"
DB_URL = f"postgresql+psycopg://intern:{DB_PASSWORD}@db.internal:5432/intern_match"
REFUSAL = nats_errors.Error("nats: 'Authorization Violation'")


def test_probes_listen_on_localhost_8080_unless_configured(monkeypatch: pytest.MonkeyPatch):
    assert (Settings().http_host, Settings().http_port) == ("127.0.0.1", 8080)
    monkeypatch.setenv("INTERN_MATCH_HTTP_PORT", "0")
    monkeypatch.setenv("INTERN_MATCH_HTTP_HOST", "0.0.0.0")
    assert (Settings().http_host, Settings().http_port) == ("0.0.0.0", 0)


def test_a_negative_http_port_is_rejected():
    with pytest.raises(ValidationError, match="http_port"):
        Settings(http_port=-1)


def test_the_database_password_stays_out_of_repr_str_and_json_dump():
    settings = Settings(database_url=DB_URL)

    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert DB_PASSWORD not in text
    assert settings.database_url_or_default() == DB_URL


def test_a_validation_error_does_not_echo_the_database_url_from_a_secrets_file(tmp_path):
    secret = tmp_path / "db-url"
    secret.write_text(DB_URL + "\n")

    with pytest.raises(ValidationError) as raised:
        Settings(database_url_file=secret, batch_size=0)

    assert "batch_size" in str(raised.value)
    assert DB_PASSWORD not in str(raised.value)


def test_broker_credentials_come_from_the_environment_and_secrets_files(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "password").write_text("from-file-pw\n")
    monkeypatch.setenv("INTERN_MATCH_BROKER_USER", "intake")
    monkeypatch.setenv("INTERN_MATCH_BROKER_PASSWORD_FILE", str(tmp_path / "password"))

    options = connect_options(Settings())

    assert options == {"user": "intake", "password": "from-file-pw"}


def test_user_and_password_win_over_a_token_for_both_nats_py_and_faststream():
    settings = Settings(broker_user="u", broker_password="p", broker_token="t")

    assert connect_options(settings) == {"user": "u", "password": "p"}
    security = broker_security(settings)
    assert isinstance(security, NatsUserPassword)
    assert (security.username, security.password, security.use_ssl) == ("u", "p", False)


def test_a_token_alone_becomes_a_nats_token():
    security = broker_security(Settings(broker_token="t0k"))

    assert isinstance(security, NatsToken) and security.token == "t0k"
    assert connect_options(Settings(broker_token="t0k")) == {"token": "t0k"}


def test_no_credentials_and_no_tls_mean_no_security_at_all():
    assert broker_security(Settings()) is None
    assert connect_options(Settings()) == {}


def test_a_missing_ca_file_fails_when_the_context_is_built(tmp_path):
    with pytest.raises(FileNotFoundError):
        connect_options(Settings(broker_tls_ca=tmp_path / "absent.pem"))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://user:pw@broker:4222", "nats://broker:4222"),
        ("tls://token@127.0.0.1:4443", "tls://127.0.0.1:4443"),
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("user:pw@broker:4222", "broker:4222"),
    ],
)
def test_urls_lose_their_credentials_before_they_are_shown(url: str, shown: str):
    assert without_credentials(url) == shown


async def test_refused_credentials_before_the_first_connect_end_the_connect_with_a_clear_message():
    guard = FirstConnectGuard("nats://svc:secret-pw@127.0.0.1:4999")

    with pytest.raises(BrokerAccessError) as raised:
        await guard.on_error(REFUSAL)

    assert str(raised.value) == (
        "NATS at nats://127.0.0.1:4999 refused the credentials (authorization violation)"
    )


async def test_after_a_disconnect_refusals_are_logged_and_reconnecting_goes_on(caplog):
    guard = FirstConnectGuard("nats://127.0.0.1:4999")

    await guard.on_disconnected()
    await guard.on_error(REFUSAL)
    await guard.on_error(nats_errors.AuthorizationError())

    assert guard.has_connected
    assert [r.getMessage() for r in caplog.records].count("broker connection error") == 2


async def test_a_refused_tcp_connection_at_first_connect_is_retried_not_fatal():
    guard = FirstConnectGuard("nats://127.0.0.1:4999")

    await guard.on_error(ConnectionRefusedError(111, "Connection refused"))

    assert guard.refusal(ConnectionRefusedError()) is None
