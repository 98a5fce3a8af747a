"""Replaying an event file or a stream range into a target environment, with its production guard
and a digest check of every round replayed. Imports contracts, settings and the client helpers.
"""

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts import INBOUND_KINDS, STREAM, Kind, subject_of
from contracts.subjects import kind_of_type
from services.intake.sources import SourceRules
from services.nats.client import connect, wait_round
from services.ops.errors import ReplayRefusedError
from services.ops.export import source_fingerprint as fingerprint_at
from services.ops.export_meta import ExportMeta
from services.ops.offline import run_offline
from services.rounds.runner import RulesetFor
from services.settings import Environment, Settings
from services.source_config import SourceConfig, to_config

_INBOUND = frozenset(INBOUND_KINDS)
_ANSWERS = (Kind.ROUND_COMPLETED, Kind.ROUND_FAILED)


def check_target(settings: Settings, target_env: str, yes_production: bool) -> None:
    """Refuse unless `target_env` names the target's environment (and production is confirmed).

    A target without a broker URL is the embedded service on the target's data directory.
    """
    if target_env != settings.environment.value:
        raise ReplayRefusedError(
            f"--target-env {target_env} does not match the target settings' environment "
            f"{settings.environment.value} (INTERN_MATCH_ENVIRONMENT); nothing was sent"
        )
    if settings.environment is Environment.PRODUCTION and not yes_production:
        raise ReplayRefusedError(
            "the target is production: replaying there needs --target-env production "
            "--yes-production; nothing was sent"
        )


def judging_rules(
    recorded: ExportMeta | None, configured: SourceConfig | None, accept_target_rules: bool
) -> SourceRules | None:
    """The source rules the events were judged by, for --verify's offline rerun.

    The target judges with its own INTERN_MATCH_SOURCES, so rules recorded at export that
    differ from those refuse the replay unless `accept_target_rules`. Without a record (a
    plain file, a source broker) the target's rules are all there is.
    """
    if recorded is None:
        return SourceRules.of(configured)
    try:
        rules = to_config(recorded.source_rules)
    except ValueError as error:
        raise ReplayRefusedError(f"the export's recorded source rules {error}") from None
    if rules != configured and not accept_target_rules:
        raise ReplayRefusedError(
            "the export recorded other source rules than the target's INTERN_MATCH_SOURCES, so "
            "the target would judge some events differently (recorded: "
            f"{_rules_text(rules)}; target: {_rules_text(configured)}); configure the target "
            "with the recorded rules, or pass --accept-target-rules; nothing was sent"
        )
    return SourceRules.of(rules)


def _rules_text(rules: SourceConfig | None) -> str:
    text = "unset (any source)" if rules is None else json.dumps(rules, separators=(",", ":"))
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass(frozen=True)
class Outgoing:
    subject: str
    event_id: str | None
    body: bytes


@dataclass
class ReplayPlan:
    """What a replay sends (inbound events in order) and what the source says rounds gave."""

    outgoing: list[Outgoing] = field(default_factory=list)
    rounds: list[str] = field(default_factory=list)
    originals: dict[str, str] = field(default_factory=dict)
    skipped: int = 0

    def by_subject(self) -> Counter[str]:
        return Counter(o.subject for o in self.outgoing)


def plan_replay(bodies: Iterable[bytes]) -> ReplayPlan:
    """Split source bodies: inbound events to send, round answers to compare, the rest skipped."""
    plan = ReplayPlan()
    for body in bodies:
        doc = _json(body)
        kind = kind_of_type(doc["type"]) if isinstance(doc.get("type"), str) else None
        found = doc.get("data")
        data: dict[str, Any] = found if isinstance(found, dict) else {}
        if kind in _INBOUND:
            event_id = doc.get("id") if isinstance(doc.get("id"), str) else None
            plan.outgoing.append(Outgoing(subject_of(kind), event_id or None, body))
            rid = data.get("round_id")
            if kind is Kind.ROUND_REQUESTED and isinstance(rid, str) and rid not in plan.rounds:
                plan.rounds.append(rid)
        elif kind in _ANSWERS and isinstance(data.get("round_id"), str):
            plan.originals.setdefault(data["round_id"], outcome_of(doc))
        else:
            plan.skipped += 1
    return plan


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def outcome_of(answer: dict[str, Any]) -> str:
    """A round answer as one comparable text: its placements digest, or `failed: <reason>`."""
    data = answer.get("data") or {}
    if str(answer.get("type", "")).startswith(subject_of(Kind.ROUND_FAILED)):
        return f"failed: {data.get('reason', '?')}"
    return str(data.get("placements_digest", "?"))


@dataclass(frozen=True)
class SendSummary:
    sent: int
    duplicates: int


async def send(
    settings: Settings,
    plan: ReplayPlan,
    *,
    on_progress: Callable[[int], None] | None = None,
    window: int = 256,
) -> SendSummary:
    """Publish the plan in order with `Nats-Msg-Id` = id; a round request waits for earlier acks."""
    client = await connect(settings)
    js, sent, duplicates = client.jetstream(), 0, 0
    try:
        pending: list[Outgoing] = []
        for item in [*plan.outgoing, None]:
            barrier = item is None or item.subject == subject_of(Kind.ROUND_REQUESTED)
            if pending and (barrier or len(pending) >= window):
                acks = await asyncio.gather(*(_publish(js, o) for o in pending))
                sent, pending = sent + len(acks), []
                duplicates += sum(1 for ack in acks if ack.duplicate)
                if on_progress:
                    on_progress(sent)
            if item is not None:
                pending.append(item)
    finally:
        await client.drain()
    return SendSummary(sent, duplicates)


def _publish(js: Any, item: Outgoing) -> Any:
    headers = {"Nats-Msg-Id": item.event_id} if item.event_id else None
    return js.publish(item.subject, item.body, stream=STREAM, headers=headers)


@dataclass(frozen=True)
class Verdict:
    round_id: str
    original: str
    replayed: str
    basis: str  # "source" (the original answer) or "offline" (recomputed)

    @property
    def matches(self) -> bool:
        return self.original == self.replayed


async def verify(
    settings: Settings,
    plan: ReplayPlan,
    rulesets: RulesetFor,
    timeout: float = 600.0,
    source_rules: SourceRules | None = None,
) -> list[Verdict]:
    """Each replayed round's answer in the target against the original (or an offline rerun,
    judged by `source_rules`: those recorded at export)."""
    offline: dict[str, str] | None = None
    verdicts = []
    for round_id in plan.rounds:
        answer = await wait_round(settings, round_id, timeout, broker_url=settings.broker_url)
        if round_id in plan.originals:
            original, basis = plan.originals[round_id], "source"
        else:
            if offline is None:
                offline = await asyncio.to_thread(_offline_outcomes, plan, rulesets, source_rules)
            original, basis = offline.get(round_id, "no answer offline"), "offline"
        verdicts.append(Verdict(round_id, original, outcome_of(answer), basis))
    return verdicts


def _offline_outcomes(
    plan: ReplayPlan, rulesets: RulesetFor, source_rules: SourceRules | None = None
) -> dict[str, str]:
    sent = (o.body for o in plan.outgoing)
    answered = run_offline(sent, rulesets, None, _fixed_clock, source_rules=source_rules)
    found = ReplayPlan()
    for body in answered:
        doc = _json(body)
        if kind_of_type(str(doc.get("type"))) in _ANSWERS:
            found.originals.setdefault(doc["data"]["round_id"], outcome_of(doc))
    return found.originals


def _fixed_clock() -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


async def replay_into(
    settings: Settings,
    plan: ReplayPlan,
    rulesets: RulesetFor,
    *,
    verify_rounds: bool,
    timeout: float = 600.0,
    on_progress: Callable[[int], None] | None = None,
    source_rules: SourceRules | None = None,
    source_fingerprint: Mapping[str, str] | None = None,
) -> tuple[SendSummary, list[Verdict] | None]:
    """Send the plan to the target and, if asked, verify its rounds; a target whose fingerprint
    matches `source_fingerprint` (the broker the events came from) raises ReplayRefusedError.

    With no broker URL the target is started here: the embedded broker and database on the
    target's data directory, run for the length of the replay (a self-contained staging), with
    calendars off: calendars are configuration, not events, and the replayed `round.requested`
    events (the calendar's `calendar/<round_id>` among them) drive the replayed rounds.
    """
    if not settings.broker_url:
        from services.runtime import running_service

        async with running_service(settings.model_copy(update={"calendars": ()})) as service:
            target = settings.model_copy(update={"broker_url": service.broker_url})
            return await replay_into(
                target, plan, rulesets, verify_rounds=verify_rounds, timeout=timeout,
                on_progress=on_progress, source_rules=source_rules,
                source_fingerprint=source_fingerprint,
            )  # fmt: skip
    await refuse_the_source_as_target(settings, source_fingerprint)
    summary = await send(settings, plan, on_progress=on_progress)
    verdicts = (
        await verify(settings, plan, rulesets, timeout, source_rules) if verify_rounds else None
    )
    return summary, verdicts


_SAME = {"stream_created": "stream JIP created at", "server": "server identity"}


async def refuse_the_source_as_target(settings: Settings, source: Mapping[str, str] | None) -> None:
    """Raise ReplayRefusedError when the target broker is the one the events came from: the same
    stream JIP (its creation time) or the same server or cluster, whatever the settings call it.
    """
    if not source:
        return
    target = await fingerprint_at(settings)
    same = [f"{_SAME[key]} {source[key]}" for key in _SAME if source.get(key) == target.get(key)
            and source.get(key)]  # fmt: skip
    if same:
        raise ReplayRefusedError(
            f"the target broker is the source of these events ({'; '.join(same)}): "
            "point INTERN_MATCH_BROKER_URL at another broker; nothing was sent"
        )
