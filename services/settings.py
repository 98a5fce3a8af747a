"""Configuration of the service from `INTERN_MATCH_*` environment variables (pydantic-settings).

Nothing is read at import time: build `Settings()` in the composition root.
Imports pydantic and services.source_config (the source rules' validation) only.
"""

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.source_config import to_config

DEFAULT_DATA_DIR = Path(".intern-match")
"""Relative to the working directory, so a laptop demo keeps its files next to where it ran."""


class Environment(StrEnum):
    PRODUCTION = "production"
    STAGING = "staging"
    DEVELOPMENT = "development"


class Settings(BaseSettings):
    """Every knob of the service; unset URLs mean the embedded defaults."""

    model_config = SettingsConfigDict(
        env_prefix="INTERN_MATCH_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    broker_url: str | None = Field(
        default=None,
        description="e.g. nats://127.0.0.1:4222, or a cluster's seed URLs separated by commas "
        "(nats://n1:4222,nats://n2:4222,nats://n3:4222); unset: start an embedded nats-server",
    )
    stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Replicas of stream JIP (its consumers inherit them): 3 on a three-node "
        "cluster; more than the cluster has nodes is refused by the server at start",
    )
    lease_seconds: float = Field(
        default=10.0,
        ge=1.0,
        le=300.0,
        description="Length of the active instance's lease: a standby takes over at most this "
        "long (plus one renewal interval, a quarter of it) after the active one stopped renewing",
    )
    instance_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="This instance's name in the lease and /healthz; unset: host name, process "
        "id and a random suffix",
    )
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL; unset: a SQLite file under data_dir"
    )
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="SQLite file and embedded JetStream storage (default ./.intern-match)",
    )
    ruleset: str = Field(
        default="fy2023-announced", description="Default ruleset: a shipped name or a TOML path"
    )
    rulesets: dict[int, str] = Field(
        default_factory=dict,
        description='Rulesets per program year, JSON, e.g. {"2024": "/etc/jip/fy2024.toml"}',
    )
    environment: Environment = Environment.DEVELOPMENT
    broker_user: str | None = None
    broker_password: SecretStr | None = None
    broker_token: SecretStr | None = None
    broker_inbox_prefix: str = Field(
        default="_INBOX",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Subjects of the replies this client receives (deliveries of stream JIP "
        "included): a prefix of its own, which no producer may subscribe to, keeps them private",
    )
    broker_tls_ca: Path | None = Field(
        default=None, description="PEM file of the CA that signed the broker's certificate"
    )
    broker_tls_cert: Path | None = Field(default=None, description="PEM client certificate (mTLS)")
    broker_tls_key: Path | None = Field(
        default=None, description="PEM key of the client certificate"
    )
    http_host: str = Field(
        default="127.0.0.1", description="Bind address of /healthz, /readyz, /metrics"
    )
    http_port: int = Field(
        default=8080, ge=0, le=65535, description="Port of /healthz, /readyz, /metrics; 0 disables"
    )
    ready_max_lag: int | None = Field(
        default=None, ge=0, description="/readyz fails above this intake consumer lag; unset: never"
    )
    ready_stall_seconds: float = Field(
        default=120.0,
        gt=0,
        description="/readyz fails when messages wait and the intake has not committed anything "
        "for this long (a running round counts as progress)",
    )
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Inbound events per batch")
    relay_batch_size: int = Field(
        default=2_000,
        ge=1,
        le=10_000,
        description="Outbox rows the relay publishes per batch (a read, a publish of them all, "
        "their acks awaited together, a marking)",
    )
    parse_workers: int = Field(
        default=1,
        ge=0,
        le=4,
        description="Worker processes validating inbound batches (0: in the service process)",
    )
    round_time_limit_seconds: float = Field(
        default=60.0, gt=0, description="Solver wall-clock limit per round"
    )
    calendars: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description="Calendar files of automatic rounds, comma-separated paths (lifecycle.md); "
        "unset: no automatic rounds",
    )
    sources: Annotated[dict[str, list[str]] | None, NoDecode] = Field(
        default=None,
        description='Source rules, JSON: {"applicant.*": ["/applicant-portal"], "operators": '
        '["/operator-console"]}; kind patterns (or "operators") to the sources that may send '
        "them; unset: any source",
    )

    database_url_file: Path | None = Field(
        default=None, description="File holding the database URL (a Docker or Kubernetes secret)"
    )
    broker_password_file: Path | None = Field(default=None, description="File holding the password")
    broker_token_file: Path | None = Field(default=None, description="File holding the token")

    @model_validator(mode="before")
    @classmethod
    def _unambiguous_environment(cls, data: Any) -> Any:
        """Refuse INTERN_MATCH_* variables set in two letter cases to different values."""
        refuse_ambiguous(os.environ)
        return data

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        """`<name>_file` fills `<name>` from a secrets file when `<name>` itself is unset."""
        if not isinstance(data, dict):
            return data
        for name in ("database_url", "broker_password", "broker_token"):
            path = data.get(f"{name}_file")
            if path and not data.get(name):
                try:
                    data[name] = Path(path).read_text(encoding="utf-8").strip()
                except OSError as error:
                    raise ValueError(f"{name}_file: cannot read {path}: {error.strerror}") from None
        return data

    @field_validator("broker_url")
    @classmethod
    def _seed_urls(cls, value: str | None) -> str | None:
        """Each comma-separated seed must be a NATS URL with a host (none left empty); an empty
        value means unset (the embedded server)."""
        if value:
            broker_servers(value)
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _source_rules(cls, value: Any) -> Any:
        """Canonical rules; a malformed value names the key and the reason (no start)."""
        try:
            return to_config(value)
        except ValueError as error:
            raise ValueError(f"INTERN_MATCH_SOURCES {error}") from None

    @field_validator("calendars", mode="before")
    @classmethod
    def _calendar_paths(cls, value: Any) -> Any:
        """`a.toml,b.toml` (spaces around commas ignored; empty: none) as paths."""
        if isinstance(value, str):
            return tuple(Path(part.strip()) for part in value.split(",") if part.strip())
        return value

    def database_url_or_default(self) -> str:
        """The configured database URL, or a SQLite file `intern-match.db` under data_dir."""
        if self.database_url:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'intern-match.db').resolve()}"

    def nats_dir(self) -> Path:
        """Where an embedded nats-server keeps its JetStream files."""
        return self.data_dir / "nats"

    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


ENV_PREFIX = "INTERN_MATCH_"
_SCHEMES = ("nats", "tls", "ws", "wss")


def broker_servers(url: str) -> list[str]:
    """The seed URLs of INTERN_MATCH_BROKER_URL (one, or several separated by commas); a
    malformed one raises ValueError naming its position, never its credentials."""
    servers = [part.strip() for part in url.split(",")]
    for number, server in enumerate(servers, start=1):
        scheme, sep, rest = server.partition("://")
        host = rest.rpartition("@")[2].split("/", 1)[0]
        if not sep or scheme.lower() not in _SCHEMES or not host or host.startswith(":"):
            raise ValueError(
                f"INTERN_MATCH_BROKER_URL: seed {number} of {len(servers)} is not a NATS URL "
                "with a host (expected nats://host:port, seeds separated by commas)"
            )
    return servers


def refuse_ambiguous(environ: Mapping[str, str]) -> None:
    """Raise ValueError naming both variables when one setting is set twice, in two letter
    cases, to different values: pydantic-settings reads names case-insensitively, so which one
    wins (say `intern_match_environment=development` over `INTERN_MATCH_ENVIRONMENT=production`)
    would be an accident. Values are not named: they may be secrets."""
    seen: dict[str, str] = {}
    for name in sorted(environ):
        key = name.upper()
        if not key.startswith(ENV_PREFIX):
            continue
        other = seen.setdefault(key, name)
        if other != name and environ[other] != environ[name]:
            raise ValueError(
                f"ambiguous settings: {other} and {name} are both set, to different values; "
                "unset one of them"
            )
