"""Subjects, CloudEvents types and limits of the wire contract.

Imports the standard library only.
"""

from enum import StrEnum

STREAM = "JIP"
"""The JetStream stream that holds every subject `jip.>`."""

SUBJECT_PREFIX = "jip."
TYPE_VERSION = ".v1"
SERVICE_SOURCE = "/intern-match"
MAX_BODY_BYTES = 256 * 1024
"""Bodies over 256 KiB are rejected without being parsed."""


class Kind(StrEnum):
    """Event kinds: the NATS subject is `jip.<kind>`, the type `jip.<kind>.v1`."""

    APPLICANT_REGISTERED = "applicant.registered"
    APPLICANT_WITHDRAWN = "applicant.withdrawn"
    VACANCY_POSTED = "vacancy.posted"
    VACANCY_CLOSED = "vacancy.closed"
    ROUND_REQUESTED = "round.requested"
    PLACEMENT_RESPONDED = "placement.responded"
    PLACEMENT_MADE = "placement.made"
    APPLICANT_UNPLACED = "applicant.unplaced"
    ROUND_COMPLETED = "round.completed"
    ROUND_FAILED = "round.failed"
    PLACEMENT_CONFIRMED = "placement.confirmed"
    PLACEMENT_RELEASED = "placement.released"


INBOUND_KINDS: tuple[Kind, ...] = (
    Kind.APPLICANT_REGISTERED,
    Kind.APPLICANT_WITHDRAWN,
    Kind.VACANCY_POSTED,
    Kind.VACANCY_CLOSED,
    Kind.ROUND_REQUESTED,
    Kind.PLACEMENT_RESPONDED,
)
OUTBOUND_KINDS: tuple[Kind, ...] = (
    Kind.PLACEMENT_MADE,
    Kind.APPLICANT_UNPLACED,
    Kind.ROUND_COMPLETED,
    Kind.ROUND_FAILED,
    Kind.PLACEMENT_CONFIRMED,
    Kind.PLACEMENT_RELEASED,
)


ALL_SUBJECTS = SUBJECT_PREFIX + ">"
"""The NATS wildcard of every subject of the contract: the subjects of stream `JIP`."""
ROUND_SUBJECTS = SUBJECT_PREFIX + "round.>"
"""The NATS wildcard of a round's request and its answers (`round.completed`, `round.failed`)."""
UNKNOWN_SUBJECT = SUBJECT_PREFIX + "unknown"
"""The subject a rejection names for a body that came without one (file input)."""


def subject_of(kind: str) -> str:
    """The NATS subject of an event kind, e.g. `jip.applicant.registered`."""
    return SUBJECT_PREFIX + kind


def type_of(kind: str) -> str:
    """The CloudEvents type of an event kind, e.g. `jip.applicant.registered.v1`."""
    return SUBJECT_PREFIX + kind + TYPE_VERSION


DLQ_PREFIX = SUBJECT_PREFIX + "dlq."
DLQ_SUBJECTS = DLQ_PREFIX + ">"
"""The NATS wildcard of every dead letter's subject."""
DLQ_TYPE_VERSION = ".v2"
"""Dead letters are of type `jip.dlq.<original kind>.v2` (v1 carried the body; see contract.md)."""
DEAD_LETTER_SCHEMA = "jip.dlq.v2"
"""Key (and file name) of the dead-letter envelope's JSON Schema, one for every original kind."""


def dlq_subject(original_subject: str) -> str:
    """Dead-letter subject for a rejected event: `jip.dlq.<original kind>`."""
    kind = original_subject.removeprefix(SUBJECT_PREFIX) or "unknown"
    return DLQ_PREFIX + kind


def dlq_type(original_subject: str) -> str:
    """Dead-letter CloudEvents type for a rejected event: `jip.dlq.<original kind>.v2`."""
    return dlq_subject(original_subject) + DLQ_TYPE_VERSION


def subject_of_type(event_type: str) -> str:
    """The subject an event of this type travels on: the type without its version suffix."""
    if event_type.startswith(DLQ_PREFIX):
        return event_type.removesuffix(DLQ_TYPE_VERSION)
    return event_type.removesuffix(TYPE_VERSION)


def kind_of_type(event_type: str) -> Kind | None:
    """The kind named by a CloudEvents type, or None when the type is not of contract v1."""
    return _KIND_OF_TYPE.get(event_type)


# A dict lookup: the intake asks this several times per event.
_KIND_OF_TYPE = {SUBJECT_PREFIX + kind.value + TYPE_VERSION: kind for kind in Kind}
