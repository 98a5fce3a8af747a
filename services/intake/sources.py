"""Source rules (INTERN_MATCH_SOURCES): which event `source` may send which inbound kind, and
who may change an applicant or a vacancy after its creator. Pure rules plus one read of the
creators; imports contracts, sqlalchemy, services.intake.parsing and services.store.tables,
never brokers or matching.
"""

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, select

from contracts import INBOUND_KINDS, SERVICE_SOURCE, ContractError, FieldError, subject_of
from services.intake.parsing import AGGREGATE_OF, Accepted, Parsed
from services.store.tables import ApplicantRow, VacancyRow

log = logging.getLogger(__name__)

OPERATORS = "operators"
"""The key naming the operator sources: they may send every inbound kind and change any
applicant or vacancy."""
MAX_SOURCE = 256
_SHOWN = 60
_KINDS = tuple(kind.value for kind in INBOUND_KINDS)
_TABLES = {
    "applicant": ApplicantRow.__table__,  # type: ignore[attr-defined]
    "vacancy": VacancyRow.__table__,  # type: ignore[attr-defined]
}

SourceConfig = dict[str, list[str]]
"""The rules as configured and as an export records them: {pattern or 'operators': sources},
keys and sources sorted, sources unique."""


def is_own_source(source: str) -> bool:
    """The service's own sources (`/intern-match` and below it, e.g. the calendar's)."""
    return source == SERVICE_SOURCE or source.startswith(SERVICE_SOURCE + "/")


def matches(pattern: str, kind: str) -> bool:
    """`applicant.*` matches every `applicant.<x>` kind; any other pattern only itself."""
    if pattern.endswith(".*"):
        return kind.startswith(pattern[:-1])
    return pattern == kind


def to_config(value: object) -> SourceConfig | None:
    """The canonical rules of a setting's value (JSON text or a mapping); None stays None.

    Raises ValueError naming the key and the reason, so a service with bad rules never starts.
    """
    if value is None:
        return None
    if isinstance(value, str | bytes):
        value = _json_object(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a JSON object of lists of sources, not {type(value).__name__}")
    return {key: _sources_of(key, value[key]) for key in sorted(_keys(value))}


def _json_object(text: str | bytes) -> object:
    if not text.strip():
        raise ValueError("is empty: unset it to accept any source, or give a JSON object")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"is not JSON ({type(error).__name__}: {error})"[:200]) from None


def _keys(value: Mapping[object, object]) -> list[str]:
    for key in value:
        if not isinstance(key, str):
            raise ValueError(f"key {key!r}: keys are kind patterns or {OPERATORS!r}")
        if key != OPERATORS and not any(matches(key, kind) for kind in _KINDS):
            raise ValueError(
                f"key {key[:_SHOWN]!r}: matches no inbound kind (use a kind such as "
                f"round.requested, a pattern such as applicant.*, or {OPERATORS!r})"
            )
    return [str(key) for key in value]


def _sources_of(key: str, sources: object) -> list[str]:
    if not isinstance(sources, list):
        raise ValueError(f"key {key!r}: must be a list of sources, not {type(sources).__name__}")
    for source in sources:
        if not isinstance(source, str) or not 0 < len(source) <= MAX_SOURCE:
            raise ValueError(f"key {key!r}: each source is a string of 1 to {MAX_SOURCE} chars")
        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in source):
            raise ValueError(f"key {key!r}: a source holds whitespace or a control character")
    return sorted(set(sources))


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

    def allowed(self, kind: str) -> frozenset[str]:
        """The configured sources that may send `kind` (operators included)."""
        found = [s for key, srcs in self.config.items() if matches(key, kind) for s in srcs]
        return self.operators.union(found)

    def kind_refusal(self, kind: str, source: str) -> str | None:
        """Why `source` may not send `kind`, or None when it may."""
        if is_own_source(source) or source in self.allowed(kind):
            return None
        rules = [k for k in self.config if k != OPERATORS and matches(k, kind)]
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
        return [k for k in _KINDS if not any(matches(p, k) for p in self.config if p != OPERATORS)]


def _short(source: str) -> str:
    return source if len(source) <= _SHOWN else source[: _SHOWN - 3] + "..."


class SourceRefusedError(ContractError):
    """A valid event from a source the rules do not allow: a dead letter on field `source`."""


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
