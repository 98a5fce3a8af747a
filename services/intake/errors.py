"""Errors the intake raises.

    contracts.ContractError (ValueError)
    ├── SourceRefusedError     a valid event from a source the rules do not allow
    └── NotHandledYetError     a valid event of a kind the service cannot apply yet

A refused source, or an event the service cannot apply yet, is dead-lettered like any invalid
event (on field `source`, or `type`), so an `except ContractError` takes it too; the body stays
in the dead-letter table, for `dead-letters resubmit` once the service handles its kind.
`settle._Failed` is no error the intake raises: it carries a failed stage between the functions
of `settle` and never leaves that module.

Imports contracts only.
"""

from contracts import ContractError


class SourceRefusedError(ContractError):
    """A valid event from a source the rules do not allow: a dead letter on field `source`."""


class NotHandledYetError(ContractError):
    """A valid event of a kind the contract defines and the service does not apply yet
    (`jip.placement.responded`): a dead letter on field `type`, changing nothing."""
