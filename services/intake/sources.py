"""Source rules (INTERN_MATCH_SOURCES): which event `source` may send which inbound kind, and
who may change an applicant or a vacancy after its creator. Pure rules plus one read of the
creators; imports contracts, sqlalchemy, services.intake (errors, parsing) and
services.store.tables, never brokers or matching.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, select

from contracts import SERVICE_SOURCE, FieldError, subject_of
from services.intake.errors import SourceRefusedError
from services.intake.parsing import AGGREGATE_OF, Accepted, Parsed
from services.source_config import (
    COMMITTEE,
    KINDS,
    OPERATORS,
    ROLES,
    SHOWN,
    SourceConfig,
    matches,
    to_config,
)
from services.store.tables import ApplicantRow, VacancyRow, table_of

log = logging.getLogger(__name__)

_TABLES = {
    "applicant": table_of(ApplicantRow),
    "vacancy": table_of(VacancyRow),
}


def is_own_source(source: str) -> bool:
    """The service's own sources (`/intern-match` and below it, e.g. the calendar's)."""
    return source == SERVICE_SOURCE or source.startswith(SERVICE_SOURCE + "/")


@dataclass(frozen=True)
class SourceRules:
    """Validated rules. A kind may come from the sources of every pattern matching it, from an
    operator source, or from the service's own sources; any other source is refused."""

    config: SourceConfig

    @classmethod
    def of(cls, value: object) -> "SourceRules | None":
        config = to_config(value)
        return None if config is None else cls(config)

    @property
    def operators(self) -> frozenset[str]:
        return frozenset(self.config.get(OPERATORS, ()))

    @property
    def committee(self) -> frozenset[str]:
        return frozenset(self.config.get(COMMITTEE, ()))

    def allowed(self, kind: str) -> frozenset[str]:
        """The configured sources that may send `kind` (operators included, and for answers
        the committee's sources)."""
        found = [s for key, srcs in self.config.items() if matches(key, kind) for s in srcs]
        if kind == _ANSWER:
            found += self.committee
        return self.operators.union(found)

    def answer_refusal(
        self, party: str, source: str, host: str | None, applicant: str | None
    ) -> str | None:
        """Why `source` may not answer for `party`, or None when it may: host answers come from
        the vacancy's creator (`host`), applicant answers from the applicant's, committee answers
        from the committee's sources; operator sources answer for any party (lifecycle.md)."""
        if source in self.operators:
            return None
        if party == COMMITTEE:
            if source in self.committee:
                return None
            return (
                f"source {_short(source)} may not answer for the committee: only the sources "
                f"of rule {COMMITTEE} (or an operator source) may"
            )
        speaker = host if party == "host" else applicant
        if source == speaker:
            return None
        what = "vacancy" if party == "host" else "applicant"
        return (
            f"source {_short(source)} may not answer for the {party}: {party} answers come from "
            f"the source that created the {what} ({_short(speaker or 'unknown')}) or an "
            f"operator source"
        )

    def kind_refusal(self, kind: str, source: str) -> str | None:
        """Why `source` may not send `kind`, or None when it may."""
        if is_own_source(source) or source in self.allowed(kind):
            return None
        rules = [k for k in self.config if k not in ROLES and matches(k, kind)]
        if not rules:
            return (
                f"source {_short(source)} may not send {kind}: no rule of INTERN_MATCH_SOURCES "
                f"names {kind}, so only operator sources may"
            )
        return f"source {_short(source)} may not send {kind}: rule {', '.join(rules)} allows others"

    def creator_refusal(self, aggregate: str, source: str, creator: str | None) -> str | None:
        """Why `source` may not change an aggregate its `creator` made, or None when it may."""
        if creator is None or source == creator or source in self.operators:
            return None
        return (
            f"source {_short(source)} may not change this {aggregate}: it was created by "
            f"{_short(creator)} (only its creator or an operator source may)"
        )

    def uncovered_kinds(self) -> list[str]:
        """Inbound kinds no rule names: only operator and the service's own sources send them."""
        named = [p for p in self.config if p not in ROLES]
        covered = {k for k in KINDS if any(matches(p, k) for p in named)}
        if self.committee:
            covered.add(_ANSWER)
        return [k for k in KINDS if k not in covered]


_ANSWER = "placement.responded"


def _short(source: str) -> str:
    return source if len(source) <= SHOWN else source[: SHOWN - 3] + "..."


class _Message(Protocol):
    @property
    def subject(self) -> str | None: ...


def judge(
    connection: Connection,
    rules: SourceRules | None,
    batch: Sequence[_Message],
    parsed: Sequence[Parsed],
) -> list[Parsed]:
    """`parsed` with every event the rules refuse replaced by a SourceRefusedError, in order.

    An aggregate's creator is the source of its first accepted event (stored with it, or
    earlier in this batch). No rules: everything passes, as before rules existed.
    """
    if rules is None:
        return list(parsed)
    creators = load_creators(connection, [e for e in parsed if isinstance(e, Accepted)])
    judged: list[Parsed] = []
    for message, event in zip(batch, parsed, strict=True):
        if isinstance(event, Accepted):
            reason = _refusal(rules, creators, event)
            if reason is not None:
                subject = message.subject or subject_of(event.kind)
                event = SourceRefusedError([FieldError("source", reason)], event.event_id, subject)
        judged.append(event)
    return judged


def _refusal(
    rules: SourceRules, creators: dict[tuple[str, str], str], event: Accepted
) -> str | None:
    """The kind rule, then the creator rule; an accepted first event makes its source creator."""
    reason = rules.kind_refusal(event.kind.value, event.source)
    if reason is not None or event.kind not in AGGREGATE_OF or event.aggregate_id is None:
        return reason
    key = (AGGREGATE_OF[event.kind][0], event.aggregate_id)
    reason = rules.creator_refusal(key[0], event.source, creators.get(key))
    if reason is None:
        creators.setdefault(key, event.source)
    return reason


def load_creators(connection: Connection, events: Sequence[Accepted]) -> dict[tuple[str, str], str]:
    """The stored creator source of each applicant and vacancy the events name."""
    ids: dict[str, set[str]] = {aggregate: set() for aggregate in _TABLES}
    for event in events:
        if event.kind in AGGREGATE_OF and event.aggregate_id is not None:
            ids[AGGREGATE_OF[event.kind][0]].add(event.aggregate_id)
    creators: dict[tuple[str, str], str] = {}
    for aggregate, wanted in ids.items():
        table = _TABLES[aggregate]
        key = table.c[f"{aggregate}_id"]
        query = select(key, table.c.created_by).where(key.in_(sorted(wanted)))
        for aggregate_id, creator in connection.execute(query) if wanted else ():
            if creator is not None:
                creators[(aggregate, aggregate_id)] = creator
    return creators


def log_rules_at_start(rules: SourceRules | None, production: bool) -> None:
    """A WARNING when production accepts any source; the kinds only operators may send."""
    if rules is None:
        if production:
            log.warning(
                "INTERN_MATCH_SOURCES is not set: events are accepted from any source, and any "
                "publisher can change any applicant or vacancy; set the source rules"
            )
        return
    uncovered = rules.uncovered_kinds()
    log.info(
        "source rules in force",
        extra={"rules": sorted(rules.config), "operator_only_kinds": uncovered},
    )
