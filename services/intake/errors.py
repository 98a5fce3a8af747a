"""Errors the intake raises.

    contracts.ContractError (ValueError)
    └── SourceRefusedError     a valid event from a source the rules do not allow

A refused source is dead-lettered like any invalid event (on field `source`), so an
`except ContractError` takes it too. `settle._Failed` is no error the intake raises: it carries
a failed stage between the functions of `settle` and never leaves that module.

Imports contracts only.
"""

from contracts import ContractError


class SourceRefusedError(ContractError):
    """A valid event from a source the rules do not allow: a dead letter on field `source`."""
