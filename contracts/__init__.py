"""The wire contract v1 of intern-match: CloudEvents envelopes and payloads as frozen models.

Imports pydantic and the standard library only.
"""

from contracts.envelope import (
    PAYLOADS,
    CloudEvent,
    make_event,
    parse_event,
    to_json_bytes,
)
from contracts.errors import ContractError, FieldError
from contracts.inbound import (
    ApplicantRegistered,
    ApplicantWithdrawn,
    Certificate,
    Company,
    Education,
    Location,
    Requirements,
    Residence,
    RoundRequested,
    Slot,
    VacancyClosed,
    VacancyPosted,
)
from contracts.outbound import (
    ApplicantUnplaced,
    DeadLettered,
    PlacementMade,
    Reason,
    RoundCompleted,
    RoundFailed,
)
from contracts.subjects import (
    INBOUND_KINDS,
    MAX_BODY_BYTES,
    OUTBOUND_KINDS,
    SERVICE_SOURCE,
    STREAM,
    Kind,
    dlq_subject,
    dlq_type,
    subject_of,
    subject_of_type,
    type_of,
)
from contracts.vocabulary import (
    COURSES,
    PREFECTURES,
    ReasonCode,
)

__all__ = [
    "COURSES",
    "PAYLOADS",
    "INBOUND_KINDS",
    "MAX_BODY_BYTES",
    "OUTBOUND_KINDS",
    "PREFECTURES",
    "SERVICE_SOURCE",
    "STREAM",
    "ApplicantRegistered",
    "ApplicantUnplaced",
    "ApplicantWithdrawn",
    "Certificate",
    "CloudEvent",
    "Company",
    "ContractError",
    "DeadLettered",
    "Education",
    "FieldError",
    "Kind",
    "Location",
    "PlacementMade",
    "Reason",
    "ReasonCode",
    "Requirements",
    "Residence",
    "RoundCompleted",
    "RoundFailed",
    "RoundRequested",
    "Slot",
    "VacancyClosed",
    "VacancyPosted",
    "dlq_subject",
    "dlq_type",
    "make_event",
    "parse_event",
    "subject_of",
    "subject_of_type",
    "to_json_bytes",
    "type_of",
]
