"""The shipped deploy/nats.conf (with its authorization.conf) on a real nats-server: each role
publishes what it should and is refused the rest, and the service's user runs the service."""

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.errors import Error as NatsError
from pydantic import SecretStr

from contracts import INBOUND_KINDS, OUTBOUND_KINDS, subject_of
from services.nats.embedded import EmbeddedNats
from services.runtime import publish_events, running_service, wait_round
from services.sample.generator import generate_year, round_request
from services.settings import Settings

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PASSWORDS = {
    "intern-match": "INTERN_MATCH_PASSWORD",
    "operator": "OPERATOR_PASSWORD",
    "applicant-portal": "APPLICANT_PORTAL_PASSWORD",
    "sme-portal": "SME_PORTAL_PASSWORD",
    "committee": "COMMITTEE_PASSWORD",
    "scheduler": "SCHEDULER_PASSWORD",
}
INBOUND = ["jip.applicant.registered", "jip.applicant.withdrawn", "jip.vacancy.posted",
           "jip.vacancy.closed", "jip.round.requested", "jip.placement.responded"]  # fmt: skip
OUTBOUND = ["jip.placement.made", "jip.applicant.unplaced", "jip.round.completed",
            "jip.round.failed", "jip.placement.confirmed", "jip.placement.released",
            "jip.dlq.applicant.registered"]  # fmt: skip
MAY_PUBLISH = {
    "applicant-portal": {"jip.applicant.registered", "jip.applicant.withdrawn",
                         "jip.placement.responded"},
    "sme-portal": {"jip.vacancy.posted", "jip.vacancy.closed", "jip.placement.responded"},
    "committee": {"jip.placement.responded"},
    "scheduler": {"jip.round.requested"},
    "operator": set(INBOUND),
    "intern-match": {*OUTBOUND, "jip.round.requested"},
}  # fmt: skip


def _password(user: str) -> str:
    return f"pw-{user}"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """nats-server with the shipped config: loopback, a free port, a temp store, no monitor."""
    root = tmp_path_factory.mktemp("secured")
    config = root / "conf"
    config.mkdir()
    text = (DEPLOY / "nats.conf").read_text()
    (config / "nats.conf").write_text(re.sub(r"\n\s*store_dir:.*\n", "\n", text))
    shutil.copy(DEPLOY / "authorization.conf", config / "authorization.conf")
    lines = [f'{var}: "{_password(user)}"' for user, var in PASSWORDS.items()]
    (config / "passwords.conf").write_text("\n".join(lines) + "\n")
    args = ["-c", str(config / "nats.conf"), "-m", "0"]
    with EmbeddedNats(root, extra_args=args) as server:
        yield server.url


async def _connect(url: str, user: str) -> nats.NATS:
    prefix = {"intern-match": "_INBOX_intern_match", "operator": "_INBOX_operators"}
    errors: list[Exception] = []

    async def on_error(error: Exception) -> None:
        errors.append(error)

    client = await nats.connect(
        url, user=user, password=_password(user), error_cb=on_error,
        inbox_prefix=prefix.get(user, "_INBOX"), max_reconnect_attempts=0,
    )  # fmt: skip
    client._test_errors = errors  # type: ignore[attr-defined]
    return client


async def _refused(client: nats.NATS, subject: str) -> bool:
    """Publish on core NATS; the server answers a forbidden subject with a permissions error.

    Errors reach the callback in order but after `flush`, so a forbidden marker follows and
    its error says every earlier answer is in.
    """
    errors = client._test_errors  # type: ignore[attr-defined]
    errors.clear()
    await client.publish(subject, b"{}")
    await client.publish("no-one.may.publish.this", b"")
    await client.flush(timeout=5)
    for _ in range(500):
        if any("no-one.may" in str(e) for e in errors):
            break
        await asyncio.sleep(0.01)
    return any("permissions violation" in str(e).lower() and subject.lower() in str(e).lower()
               for e in errors)  # fmt: skip


def test_the_subjects_checked_here_are_every_subject_of_the_contract() -> None:
    assert [subject_of(kind) for kind in INBOUND_KINDS] == INBOUND
    assert OUTBOUND[:-1] == [subject_of(kind) for kind in OUTBOUND_KINDS]


@pytest.mark.parametrize("user", sorted(MAY_PUBLISH))
async def test_each_role_publishes_its_subjects_and_is_refused_every_other(secured, user):
    client = await _connect(secured, user)
    try:
        for subject in INBOUND + OUTBOUND:
            assert await _refused(client, subject) is (subject not in MAY_PUBLISH[user]), subject
        if user != "intern-match":  # only the service may create or delete streams
            assert await _refused(client, "$JS.API.STREAM.DELETE.JIP")
    finally:
        await client.close()


async def test_producers_cannot_read_the_events_delivered_to_the_service(secured):
    client = await _connect(secured, "sme-portal")
    errors = client._test_errors  # type: ignore[attr-defined]
    try:
        for subject in ("jip.>", "_INBOX_intern_match.>", "_INBOX_operators.>", ">"):
            errors.clear()
            await client.subscribe(subject)
            await client.flush(timeout=5)
            for _ in range(500):
                if errors:
                    break
                await asyncio.sleep(0.01)
            assert any("permissions violation" in str(e).lower() for e in errors), subject
    finally:
        await client.close()


async def test_the_service_user_runs_the_service_and_producers_publish_with_acks(
    secured, tmp_path: Path
):
    settings = Settings(
        broker_url=secured, broker_user="intern-match", broker_password=_password("intern-match"),
        broker_inbox_prefix="_INBOX_intern_match", database_url=f"sqlite:///{tmp_path}/db",
        data_dir=tmp_path, round_time_limit_seconds=20,
    )  # fmt: skip
    year = generate_year(seed=3, applicants=30, vacancies=6, program_year=2023)
    portal = {"applicant": "applicant-portal", "vacancy": "sme-portal"}
    async with running_service(settings):
        for role in ("applicant", "vacancy"):  # each portal publishes its own bodies, with acks
            mine = [b for b in year if json.loads(b)["type"].startswith(f"jip.{role}.")]
            assert await publish_events(_as(settings, portal[role]), mine) == len(mine)
        request = round_request("2023-summer-1", 2023, "summer")
        await publish_events(_as(settings, "scheduler"), [request])
        operator = _as(settings, "operator", "_INBOX_operators")
        answer = await wait_round(operator, "2023-summer-1", timeout=120)
    assert answer["type"] == "jip.round.completed.v1" and answer["data"]["placed"] > 0
    with pytest.raises(NatsError):  # a producer may not read the stream
        await wait_round(_as(settings, "sme-portal"), "2023-summer-1", timeout=5)


def _as(settings: Settings, user: str, inbox_prefix: str = "_INBOX") -> Settings:
    """The same broker, as another user."""
    update = {"broker_user": user, "broker_password": SecretStr(_password(user))}
    return settings.model_copy(update={**update, "broker_inbox_prefix": inbox_prefix})
