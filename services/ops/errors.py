"""Errors the operators' tools raise.

    ReplayRefusedError (Exception)     the replay target is not the one named, or is production
                                       without --yes-production, or is the events' own broker
    RoundNotFoundError (LookupError)   the database holds no round with that id
    UnknownDeadLetter (LookupError)    no dead letter has this id, or it was already resubmitted
    NotResubmittable (ValueError)      a valid event that resubmission cannot take

No common base: the command line turns each into its own message and exit code
(`services.cli`). A corrected body that is still invalid raises `contracts.ContractError`.

Imports the standard library only.
"""


class ReplayRefusedError(Exception):
    """The target is not the one the operator named, or is production without the explicit flag."""


class RoundNotFoundError(LookupError):
    """The database holds no round with that id."""


class UnknownDeadLetter(LookupError):
    """No dead letter has this id, or it was already resubmitted."""


class NotResubmittable(ValueError):
    """A valid event that resubmission cannot take: an outbound type, or a (source, id) the
    intake has already accepted (it would drop the corrected event as a duplicate)."""
