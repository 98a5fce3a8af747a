"""The shell of intern-match, laid out by the path an event takes.

    cli -> ops -> runtime -> app -> observability -> intake -> rounds -> outbound -> nats | store

An inbound event comes in through `nats` (broker, stream), is parsed and applied in one
transaction by `intake`, may start a round in `rounds`, whose outbound events the `outbound`
outbox and relay publish through `nats` again; `store` holds the tables. `app` wires these
parts (the composition root), `runtime` starts and stops them; `observability` watches them;
`ops` (export, replay, offline rounds, reports, dead letters, the demo) and `cli` sit on top.
`settings`, `redact` and `collector` (the garbage collector's tuning) are leaves every layer may
use; `sample` is the sample program year.
The layers are an import-linter contract (pyproject.toml).

The names below are the public surface: what the command line, the scripts and the tests use
beyond one room (`services.cli.main.app`, the typer app, is not among them: `services.app` is
the composition root's module). They load lazily, so importing one room does not import the
others (the parsing worker process starts with `services.intake` only).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.app import ServiceParts, build_service, rulesets_for
    from services.cli.main import main
    from services.intake.apply import Inbound, Intake
    from services.nats.broker import make_broker
    from services.nats.client import connect
    from services.nats.embedded import EmbeddedNats
    from services.ops.offline import run_offline
    from services.runtime import publish_events, running_service, serve_forever, wait_round
    from services.sample.generator import generate_year, round_request
    from services.settings import Environment, Settings
    from services.store.db import make_engine, migrate

_PUBLIC = {
    "Settings": "services.settings",
    "Environment": "services.settings",
    "ServiceParts": "services.app",
    "build_service": "services.app",
    "rulesets_for": "services.app",
    "running_service": "services.runtime",
    "serve_forever": "services.runtime",
    "publish_events": "services.runtime",
    "wait_round": "services.runtime",
    "make_broker": "services.nats.broker",
    "connect": "services.nats.client",
    "EmbeddedNats": "services.nats.embedded",
    "Inbound": "services.intake.apply",
    "Intake": "services.intake.apply",
    "run_offline": "services.ops.offline",
    "make_engine": "services.store.db",
    "migrate": "services.store.db",
    "generate_year": "services.sample.generator",
    "round_request": "services.sample.generator",
    "main": "services.cli.main",
}

__all__ = [
    "EmbeddedNats",
    "Environment",
    "Inbound",
    "Intake",
    "ServiceParts",
    "Settings",
    "build_service",
    "connect",
    "generate_year",
    "main",
    "make_broker",
    "make_engine",
    "migrate",
    "publish_events",
    "round_request",
    "rulesets_for",
    "run_offline",
    "running_service",
    "serve_forever",
    "wait_round",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its room on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'services' has no attribute {name!r}")
    return getattr(import_module(module), name)
