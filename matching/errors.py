"""Errors matching raises.

    RulesetError (ValueError)     a ruleset file is missing or malformed
    RoundFailed (Exception)       a round's market breaks a rule of its ruleset
    └── TooManyPairs              more admissible pairs than the ruleset's max_pairs
    SolverUnavailable (Exception) the solver's worker process ended without an answer

The two roots share no base: a bad ruleset is an operator's file to mend (the command line
names the key), a failed round an outcome the service writes as `round.failed`.

Imports the standard library only. Messages carry counts, keys and rule names, never personal data.
"""


class RulesetError(ValueError):
    """A ruleset file is missing or malformed; the message names the key and the reason."""


class RoundFailed(Exception):
    """The round's market breaks a rule of the ruleset; `str(error)` is the round.failed reason."""


class TooManyPairs(RoundFailed):
    """More admissible pairs than the ruleset's `[ranking] max_pairs`: decided by counting, so
    the same events fail the same way on every machine."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"admissible pairs {count:,} exceed the ruleset's max_pairs {limit:,}")
        self.count = count
        self.limit = limit

    def __reduce__(self) -> tuple[type["TooManyPairs"], tuple[int, int]]:
        return TooManyPairs, (self.count, self.limit)


class SolverUnavailable(Exception):
    """The min-cost-flow worker process (matching.solver.flow_worker) ended or garbled its
    answer (killed, out of memory): no outcome of the market, so the caller may try again."""
