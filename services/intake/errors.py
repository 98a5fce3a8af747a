"""Errors the intake raises.

    contracts.ContractError (ValueError)
    ├── SourceRefusedError     a valid event from a source the rules do not allow
    ├── AnswerRefusedError     a valid answer lifecycle.md refuses (unknown placement, a party
    │                          the ruleset does not require)
    └── RoundTimeRefusedError  a valid round.requested whose time its program year refuses

Each is dead-lettered like any invalid event (on field `source`, `data.placement_id`,
`data.party` or `time`), so an `except ContractError` takes it too; the body stays in the
dead-letter table, and its (`source`, `id`) is not spent, so `dead-letters resubmit` can apply a
corrected copy. `settle._Failed` is no error the intake raises: it carries a failed stage
between the functions of `settle` and never leaves that module.

Imports contracts only.
"""

from contracts import ContractError


class SourceRefusedError(ContractError):
    """A valid event from a source the rules do not allow: a dead letter on field `source`."""


class AnswerRefusedError(ContractError):
    """A valid `placement.responded` lifecycle.md refuses: it names no placement a round made,
    or a party the ruleset does not require; it changes nothing."""


class RoundTimeRefusedError(ContractError):
    """A valid `round.requested` whose `time` lies outside its program year's window (the time
    guard, services.rounds.guard); it runs nothing, expires nothing."""
